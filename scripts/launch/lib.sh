# shellcheck shell=bash disable=SC2034 # LAUNCH_HOME, JAVA17_OPENS, LOG4J_OPTS: for the launchers
# Shared by the launchers in scripts/launch/ (sourced, never run). Each launcher starts one
# service as a single foreground JVM (`exec java …`, so signals reach it), configured from
# command-line flags, then environment variables, then documented defaults. The test fixtures
# and docker/compose.yaml start services through these same scripts.
#
# LAUNCH_DRY_RUN=1 makes any launcher start nothing and write nothing: it checks its settings and
# its jars as usual, then prints what it would do on stdout, in sections:
#   --- write <file>     then the file's lines (a config file the launcher writes)
#   --- run              then one argument per line (a command run first, e.g. a storage format)
#   --- exec             then one argument per line (the JVM the launcher becomes)

# The repository (or installed package) root: scripts/launch/../..
LAUNCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LAUNCH_NAME="$(basename "$0")"
# Where services keep their state unless told otherwise: spark-sync's home, as in src/config/paths.ts.
LAUNCH_HOME="${SPARK_SYNC_HOME:-${HOME:-/tmp}/.spark-sync}"

launch_die() {
  echo "${LAUNCH_NAME}: $*" >&2
  exit 2
}

# Prints the launcher's leading comment block (its usage and settings).
launch_usage() {
  sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"
}

# launch_value FLAG "$@": the value after FLAG, or an error naming FLAG.
launch_value() {
  [[ $# -ge 2 && -n "$2" ]] || launch_die "$1 needs a value (see --help)"
  printf '%s' "$2"
}

launch_port() {
  if [[ ! "$2" =~ ^[0-9]+$ ]] || ((10#$2 > 65535)); then
    launch_die "$1 must be a port number (0-65535), not '$2'"
  fi
}

# The java executable: $JAVA_HOME/bin/java when JAVA_HOME is set, else java on PATH.
launch_java() {
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
  command -v "$java" >/dev/null 2>&1 || launch_die "'$java' not found; install Java 17 or set JAVA_HOME"
  printf '%s' "$java"
}

# launch_jars DIR WHAT: fails unless DIR holds jars (DIR is then used as DIR/*).
launch_jars() {
  local dir="$1" what="$2"
  compgen -G "$dir/*.jar" >/dev/null || launch_die "no jars in $dir ($what); run \`npm run build:jars\` in $LAUNCH_ROOT"
}

# Spark's Java 17 module options (spark-jobs/pom.xml, property spark.java17.opens): one source
# for the Maven tests, the driver and these daemons. Sets the array JAVA17_OPENS.
launch_java17_opens() {
  local pom="$LAUNCH_ROOT/spark-jobs/pom.xml" opens
  opens="$(sed -n 's:.*<spark.java17.opens>\(.*\)</spark.java17.opens>.*:\1:p' "$pom" 2>/dev/null)"
  [[ "$opens" == *--add-opens=* ]] || launch_die "cannot read the property spark.java17.opens from $pom"
  read -r -a JAVA17_OPENS <<<"$opens"
}

# The log4j 1 (reload4j) configuration of the Kafka and HDFS launchers: every line on stderr,
# at the level given (the launchers pass $LOG_LEVEL, INFO by default). Sets the array LOG4J_OPTS.
launch_log4j1_opts() {
  LOG4J_OPTS=("-Dlog4j.configuration=file:$LAUNCH_ROOT/scripts/launch/log4j.properties"
    "-Dlaunch.log.level=$1")
}

# launch_dir DIR: creates DIR (not in a dry run) and prints its absolute path.
launch_dir() {
  if [[ "${LAUNCH_DRY_RUN:-}" == 1 ]]; then
    [[ "$1" == /* ]] && printf '%s' "$1" || printf '%s' "$PWD/$1"
  else
    mkdir -p "$1" && (cd "$1" && pwd)
  fi
}

# launch_write FILE: writes stdin to FILE (in a dry run: prints it).
launch_write() {
  if [[ "${LAUNCH_DRY_RUN:-}" == 1 ]]; then
    echo "--- write $1"
    cat
  else
    cat >"$1"
  fi
}

# launch_run CMD…: runs CMD, with its stdout discarded (in a dry run: prints it).
launch_run() {
  if [[ "${LAUNCH_DRY_RUN:-}" == 1 ]]; then
    echo "--- run"
    printf '%s\n' "$@"
  else
    "$@" >/dev/null
  fi
}

# launch_exec CMD…: becomes CMD, so signals reach the JVM (in a dry run: prints it and exits 0).
launch_exec() {
  if [[ "${LAUNCH_DRY_RUN:-}" == 1 ]]; then
    echo "--- exec"
    printf '%s\n' "$@"
    exit 0
  fi
  exec "$@"
}
