#!/usr/bin/env bash
# spark-master.sh: a Spark 3.5 standalone master (org.apache.spark.deploy.master.Master) from a
# Spark installation's own jars ($SPARK_HOME/jars), run in the foreground (`exec java`). Workers
# join with spark-worker.sh spark://<host>:<port>.
#
# Usage: spark-master.sh --port P [flags]
# Each flag overrides its environment variable (Spark's own names from spark-env.sh
# where Spark has one).
#
#   --port P           SPARK_MASTER_PORT         required             RPC port (spark://host:P)
#   --host HOST        SPARK_MASTER_HOST         default 127.0.0.1    address it binds and the name
#                                                in its spark:// URL (also SPARK_LOCAL_IP)
#   --webui-port P     SPARK_MASTER_WEBUI_PORT   default 0            web UI (0: a free one)
#   --spark-home DIR   SPARK_HOME                default <repo>/jars/spark-dist   holds jars/
#   --memory SIZE      SPARK_DAEMON_MEMORY       default 256m         JVM -Xmx of the daemon
#   environment only:  JAVA_HOME, SPARK_DAEMON_JAVA_OPTS (extra JVM options), SPARK_CONF_DIR
#                      (default $SPARK_HOME/conf, first on the classpath, e.g. for log4j2.properties)
#   LAUNCH_DRY_RUN=1       check the settings and jars, print what would run (see lib.sh), start nothing
#
# The JVM gets Spark's Java 17 --add-opens options (spark-jobs/pom.xml, spark.java17.opens).
# Prints nothing of its own; Spark logs on stderr, and the master is ready when it logs
# "Starting Spark master at spark://<host>:<port>" and then "I have been elected leader!".
set -euo pipefail
# shellcheck source=scripts/launch/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

port="${SPARK_MASTER_PORT:-}"
host="${SPARK_MASTER_HOST:-127.0.0.1}"
webui_port="${SPARK_MASTER_WEBUI_PORT:-0}"
spark_home="${SPARK_HOME:-$LAUNCH_ROOT/jars/spark-dist}"
memory="${SPARK_DAEMON_MEMORY:-256m}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="$(launch_value "$@")"; shift 2 ;;
    --host) host="$(launch_value "$@")"; shift 2 ;;
    --webui-port) webui_port="$(launch_value "$@")"; shift 2 ;;
    --spark-home) spark_home="$(launch_value "$@")"; shift 2 ;;
    --memory) memory="$(launch_value "$@")"; shift 2 ;;
    -h | --help) launch_usage; exit 0 ;;
    *) launch_die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ -n "$port" ]] || launch_die "--port (SPARK_MASTER_PORT) is required: workers and drivers name it in spark://host:port"
launch_port --port "$port"
((10#$port > 0)) || launch_die "--port must not be 0: the master's URL names its port"
launch_port --webui-port "$webui_port"
[[ "$host" != "0.0.0.0" ]] || launch_die "--host is also the name in the master's URL; give a host name or address, not 0.0.0.0"
launch_jars "$spark_home/jars" "Spark's distribution (SPARK_HOME)"
java="$(launch_java)"
launch_java17_opens

SPARK_HOME="$(cd "$spark_home" && pwd)"
export SPARK_HOME
# Spark's launcher library (used by the Worker to build executor commands) needs these outside
# spark-submit and spark-class.
export SPARK_SCALA_VERSION=2.12
export SPARK_LOCAL_IP="$host"
conf_dir="${SPARK_CONF_DIR:-$SPARK_HOME/conf}"

# shellcheck disable=SC2086 # SPARK_DAEMON_JAVA_OPTS: one JVM option per word
launch_exec "$java" -Xmx"$memory" "${JAVA17_OPENS[@]}" ${SPARK_DAEMON_JAVA_OPTS:-} \
  -cp "$conf_dir/:$SPARK_HOME/jars/*" org.apache.spark.deploy.master.Master \
  --host "$host" --port "$port" --webui-port "$webui_port"
