#!/usr/bin/env bash
# spark-worker.sh: a Spark 3.5 standalone worker (org.apache.spark.deploy.worker.Worker) from a
# Spark installation's own jars ($SPARK_HOME/jars), run in the foreground (`exec java`). It
# registers with the master of spark-master.sh and starts executors from the same SPARK_HOME.
#
# Usage: spark-worker.sh [flags] spark://master-host:port
# Each flag overrides its environment variable (Spark's own names from spark-env.sh where Spark
# has one); the master URL may come from SPARK_MASTER_URL instead.
#
#   spark://host:port  SPARK_MASTER_URL          required             the master to join
#   --host HOST        SPARK_WORKER_HOST         default 127.0.0.1    address it binds and the name
#                                                the master and drivers use (also SPARK_LOCAL_IP)
#   --port P           SPARK_WORKER_PORT         default 0            RPC port (0: a free one)
#   --webui-port P     SPARK_WORKER_WEBUI_PORT   default 0            web UI (0: a free one)
#   --cores N          SPARK_WORKER_CORES        default 1            cores it offers to executors
#   --memory SIZE      SPARK_WORKER_MEMORY       default 1g           memory it offers to executors
#   --work-dir DIR     SPARK_WORKER_DIR          default $SPARK_SYNC_HOME/spark-worker
#                                                (executors' folders and logs)
#   --spark-home DIR   SPARK_HOME                default <repo>/jars/spark-dist   holds jars/
#   --daemon-memory SIZE  SPARK_DAEMON_MEMORY    default 256m         JVM -Xmx of the worker itself
#   environment only:  JAVA_HOME, SPARK_DAEMON_JAVA_OPTS (extra JVM options), SPARK_CONF_DIR
#                      (default $SPARK_HOME/conf, first on the classpath)
#   LAUNCH_DRY_RUN=1       check the settings and jars, print what would run (see lib.sh), start nothing
#
# The JVM gets Spark's Java 17 --add-opens options (spark-jobs/pom.xml, spark.java17.opens);
# executors get them from the driver (Spark adds them itself). Prints nothing of its own; Spark
# logs on stderr, and the worker is ready when it logs "Successfully registered with master".
set -euo pipefail
# shellcheck source=scripts/launch/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

master="${SPARK_MASTER_URL:-}"
host="${SPARK_WORKER_HOST:-127.0.0.1}"
port="${SPARK_WORKER_PORT:-0}"
webui_port="${SPARK_WORKER_WEBUI_PORT:-0}"
cores="${SPARK_WORKER_CORES:-1}"
memory="${SPARK_WORKER_MEMORY:-1g}"
work_dir="${SPARK_WORKER_DIR:-$LAUNCH_HOME/spark-worker}"
spark_home="${SPARK_HOME:-$LAUNCH_ROOT/jars/spark-dist}"
daemon_memory="${SPARK_DAEMON_MEMORY:-256m}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --host) host="$(launch_value "$@")"; shift 2 ;;
    --port) port="$(launch_value "$@")"; shift 2 ;;
    --webui-port) webui_port="$(launch_value "$@")"; shift 2 ;;
    --cores) cores="$(launch_value "$@")"; shift 2 ;;
    --memory) memory="$(launch_value "$@")"; shift 2 ;;
    --work-dir) work_dir="$(launch_value "$@")"; shift 2 ;;
    --spark-home) spark_home="$(launch_value "$@")"; shift 2 ;;
    --daemon-memory) daemon_memory="$(launch_value "$@")"; shift 2 ;;
    -h | --help) launch_usage; exit 0 ;;
    spark://*) master="$1"; shift ;;
    *) launch_die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ -n "$master" ]] || launch_die "the master's URL (spark://host:port, or SPARK_MASTER_URL) is required"
[[ "$master" =~ ^spark://[^/:,]+:[0-9]+(,[^/:,]+:[0-9]+)*$ ]] || launch_die "the master's URL must be spark://host:port, not '$master'"
launch_port --port "$port"
launch_port --webui-port "$webui_port"
[[ "$cores" =~ ^[1-9][0-9]*$ ]] || launch_die "--cores must be a positive number, not '$cores'"
[[ "$memory" =~ ^[0-9]+[mMgG]$ ]] || launch_die "--memory must be like 512m or 2g, not '$memory'"
[[ "$host" != "0.0.0.0" ]] || launch_die "--host is also the name the master and drivers use; give a host name or address, not 0.0.0.0"
launch_jars "$spark_home/jars" "Spark's distribution (SPARK_HOME)"
java="$(launch_java)"
launch_java17_opens
work_dir="$(launch_dir "$work_dir")"

SPARK_HOME="$(cd "$spark_home" && pwd)"
export SPARK_HOME
# The Worker builds each executor's command with Spark's launcher library, which needs these
# outside spark-submit and spark-class.
export SPARK_SCALA_VERSION=2.12
export SPARK_LOCAL_IP="$host"
conf_dir="${SPARK_CONF_DIR:-$SPARK_HOME/conf}"

# shellcheck disable=SC2086 # SPARK_DAEMON_JAVA_OPTS: one JVM option per word
launch_exec "$java" -Xmx"$daemon_memory" "${JAVA17_OPENS[@]}" ${SPARK_DAEMON_JAVA_OPTS:-} \
  -cp "$conf_dir/:$SPARK_HOME/jars/*" org.apache.spark.deploy.worker.Worker \
  --host "$host" --port "$port" --webui-port "$webui_port" \
  --cores "$cores" --memory "$memory" --work-dir "$work_dir" "$master"
