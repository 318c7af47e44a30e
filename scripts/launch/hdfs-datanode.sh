#!/usr/bin/env bash
# hdfs-datanode.sh: an HDFS 3.3.4 datanode (org.apache.hadoop.hdfs.server.datanode.DataNode)
# from the jars in jars/hdfs, registering with the namenode of hdfs-namenode.sh. Runs in the
# foreground (`exec java`); its block storage is created on the first start.
#
# Usage: hdfs-datanode.sh [flags] [-D key=value ...]
# Each flag overrides its environment variable; trailing -D key=value pairs are extra Hadoop
# settings (GenericOptionsParser).
#
#   --namenode URI          HDFS_NAMENODE              default hdfs://127.0.0.1:8020   fs.defaultFS
#   --host ADDR             HDFS_DATANODE_HOST         default 127.0.0.1   address the ports bind
#   --advertised-host HOST  HDFS_DATANODE_ADVERTISED_HOST  default: none   dfs.datanode.hostname, the
#                                                      name it reports (else the namenode records its IP)
#   --port P                HDFS_DATANODE_PORT         default 0           data transfer (0: a free one)
#   --http-port P           HDFS_DATANODE_HTTP_PORT    default 0           web UI (0: a free one)
#   --ipc-port P            HDFS_DATANODE_IPC_PORT     default 0           IPC (0: a free one)
#   --data-dir DIR          HDFS_DATANODE_DATA_DIR     default $SPARK_SYNC_HOME/hdfs-datanode
#                                                      (blocks under data/)
#   --heap SIZE             HDFS_HEAP                  default 256m        JVM -Xmx
#   --jars DIR              HDFS_JARS                  default <repo>/jars/hdfs
#   environment only:       JAVA_HOME, HDFS_JAVA_OPTS (extra JVM options), LOG_LEVEL (INFO)
#   LAUNCH_DRY_RUN=1       check the settings and jars, print what would run (see lib.sh), start nothing
#
# Free ports by default, so several datanodes can run on one machine. Logs go to stderr; ready
# when the log says "Successfully sent block report".
set -euo pipefail
# shellcheck source=scripts/launch/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

namenode="${HDFS_NAMENODE:-hdfs://127.0.0.1:8020}"
host="${HDFS_DATANODE_HOST:-127.0.0.1}"
advertised="${HDFS_DATANODE_ADVERTISED_HOST:-}"
port="${HDFS_DATANODE_PORT:-0}"
http_port="${HDFS_DATANODE_HTTP_PORT:-0}"
ipc_port="${HDFS_DATANODE_IPC_PORT:-0}"
data_dir="${HDFS_DATANODE_DATA_DIR:-$LAUNCH_HOME/hdfs-datanode}"
heap="${HDFS_HEAP:-256m}"
jars="${HDFS_JARS:-$LAUNCH_ROOT/jars/hdfs}"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --namenode) namenode="$(launch_value "$@")"; shift 2 ;;
    --host) host="$(launch_value "$@")"; shift 2 ;;
    --advertised-host) advertised="$(launch_value "$@")"; shift 2 ;;
    --port) port="$(launch_value "$@")"; shift 2 ;;
    --http-port) http_port="$(launch_value "$@")"; shift 2 ;;
    --ipc-port) ipc_port="$(launch_value "$@")"; shift 2 ;;
    --data-dir) data_dir="$(launch_value "$@")"; shift 2 ;;
    --heap) heap="$(launch_value "$@")"; shift 2 ;;
    --jars) jars="$(launch_value "$@")"; shift 2 ;;
    -D) extra+=(-D "$(launch_value "$@")"); shift 2 ;;
    -h | --help) launch_usage; exit 0 ;;
    *) launch_die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ "$namenode" =~ ^hdfs://[^/:]+:[0-9]+/?$ ]] || launch_die "--namenode must be hdfs://host:port, not '$namenode'"
launch_port --port "$port"
launch_port --http-port "$http_port"
launch_port --ipc-port "$ipc_port"
launch_jars "$jars" "HDFS (hadoop-client-minicluster)"
java="$(launch_java)"
launch_log4j1_opts "${LOG_LEVEL:-INFO}"
data_dir="$(launch_dir "$data_dir")"

settings=(
  -D "fs.defaultFS=${namenode%/}"
  -D "hadoop.tmp.dir=$data_dir/tmp"
  -D "dfs.datanode.data.dir=file://$data_dir/data"
  -D "dfs.datanode.address=$host:$port"
  -D "dfs.datanode.http.address=$host:$http_port"
  -D "dfs.datanode.ipc.address=$host:$ipc_port"
  ${advertised:+-D "dfs.datanode.hostname=$advertised"}
  "${extra[@]+"${extra[@]}"}"
)
# shellcheck disable=SC2086 # HDFS_JAVA_OPTS: one JVM option per word
launch_exec "$java" -Xmx"$heap" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true "${LOG4J_OPTS[@]}" \
  ${HDFS_JAVA_OPTS:-} -cp "$jars/*" org.apache.hadoop.hdfs.server.datanode.DataNode "${settings[@]}"
