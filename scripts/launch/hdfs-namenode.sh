#!/usr/bin/env bash
# hdfs-namenode.sh: an HDFS 3.3.4 namenode (org.apache.hadoop.hdfs.server.namenode.NameNode),
# from the jars in jars/hdfs (hadoop-client-minicluster 3.3.4 carries the HDFS server classes,
# its web apps and hdfs-default.xml). Formats the name directory on the first start, then runs
# in the foreground (`exec java`). Datanodes join with hdfs-datanode.sh --namenode <its URI>.
#
# Usage: hdfs-namenode.sh [flags] [-D key=value ...]
# Each flag overrides its environment variable; trailing -D key=value pairs are extra Hadoop
# settings (GenericOptionsParser), e.g. -D dfs.permissions.enabled=false.
#
#   --host ADDR             HDFS_NAMENODE_HOST             default 127.0.0.1   address RPC and HTTP bind
#   --advertised-host HOST  HDFS_NAMENODE_ADVERTISED_HOST  default --host      name in fs.defaultFS
#                                                          (required when --host is 0.0.0.0)
#   --port P                HDFS_NAMENODE_PORT             default 8020        RPC (hdfs://host:P)
#   --http-port P           HDFS_NAMENODE_HTTP_PORT        default 9870        web UI and WebHDFS (0: a free one)
#   --data-dir DIR          HDFS_NAMENODE_DATA_DIR         default $SPARK_SYNC_HOME/hdfs-namenode
#                                                          (the fsimage and edits under name/)
#   --replication N         HDFS_REPLICATION               default 1           dfs.replication
#   --cluster-id ID         HDFS_CLUSTER_ID                default: chosen by the format
#   --heap SIZE             HDFS_HEAP                      default 256m        JVM -Xmx
#   --jars DIR              HDFS_JARS                      default <repo>/jars/hdfs
#   environment only:       JAVA_HOME, HDFS_JAVA_OPTS (extra JVM options), LOG_LEVEL (INFO)
#   LAUNCH_DRY_RUN=1       check the settings and jars, print what would run (see lib.sh), start nothing
#
# Datanodes may register from any address (the registration IP/hostname check is off, as in
# containers). Logs go to stderr; ready when the log says "NameNode RPC up at".
set -euo pipefail
# shellcheck source=scripts/launch/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

host="${HDFS_NAMENODE_HOST:-127.0.0.1}"
advertised="${HDFS_NAMENODE_ADVERTISED_HOST:-}"
port="${HDFS_NAMENODE_PORT:-8020}"
http_port="${HDFS_NAMENODE_HTTP_PORT:-9870}"
data_dir="${HDFS_NAMENODE_DATA_DIR:-$LAUNCH_HOME/hdfs-namenode}"
replication="${HDFS_REPLICATION:-1}"
cluster_id="${HDFS_CLUSTER_ID:-}"
heap="${HDFS_HEAP:-256m}"
jars="${HDFS_JARS:-$LAUNCH_ROOT/jars/hdfs}"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --host) host="$(launch_value "$@")"; shift 2 ;;
    --advertised-host) advertised="$(launch_value "$@")"; shift 2 ;;
    --port) port="$(launch_value "$@")"; shift 2 ;;
    --http-port) http_port="$(launch_value "$@")"; shift 2 ;;
    --data-dir) data_dir="$(launch_value "$@")"; shift 2 ;;
    --replication) replication="$(launch_value "$@")"; shift 2 ;;
    --cluster-id) cluster_id="$(launch_value "$@")"; shift 2 ;;
    --heap) heap="$(launch_value "$@")"; shift 2 ;;
    --jars) jars="$(launch_value "$@")"; shift 2 ;;
    -D) extra+=(-D "$(launch_value "$@")"); shift 2 ;;
    -h | --help) launch_usage; exit 0 ;;
    *) launch_die "unknown argument '$1' (see --help)" ;;
  esac
done

launch_port --port "$port"
((10#$port > 0)) || launch_die "--port must be given (clients name it in hdfs://host:port)"
launch_port --http-port "$http_port"
[[ "$replication" =~ ^[1-9][0-9]*$ ]] || launch_die "--replication must be a positive number, not '$replication'"
if [[ -z "$advertised" ]]; then
  [[ "$host" != "0.0.0.0" && "$host" != "::" ]] || launch_die "--host $host needs --advertised-host (the name datanodes and clients use)"
  advertised="$host"
fi
launch_jars "$jars" "HDFS (hadoop-client-minicluster)"
java="$(launch_java)"
data_dir="$(launch_dir "$data_dir")"

settings=(
  -D "fs.defaultFS=hdfs://$advertised:$port"
  -D "hadoop.tmp.dir=$data_dir/tmp"
  -D "dfs.namenode.name.dir=file://$data_dir/name"
  -D "dfs.namenode.rpc-address=$advertised:$port"
  -D "dfs.namenode.rpc-bind-host=$host"
  -D "dfs.namenode.servicerpc-bind-host=$host"
  -D "dfs.namenode.http-address=$advertised:$http_port"
  -D "dfs.namenode.http-bind-host=$host"
  -D "dfs.namenode.https-bind-host=$host"
  -D "dfs.replication=$replication"
  -D "dfs.namenode.datanode.registration.ip-hostname-check=false"
  "${extra[@]+"${extra[@]}"}"
)
# shellcheck disable=SC2206 # HDFS_JAVA_OPTS: one JVM option per word
jvm=(-Xmx"$heap" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true ${HDFS_JAVA_OPTS:-})

if [[ ! -f "$data_dir/name/current/VERSION" ]]; then
  launch_log4j1_opts WARN
  launch_run "$java" "${jvm[@]}" "${LOG4J_OPTS[@]}" -cp "$jars/*" org.apache.hadoop.hdfs.server.namenode.NameNode \
    "${settings[@]}" -format -nonInteractive ${cluster_id:+-clusterid "$cluster_id"} ||
    launch_die "formatting the namenode's storage in $data_dir/name failed (see above)"
fi

launch_log4j1_opts "${LOG_LEVEL:-INFO}"
launch_exec "$java" "${jvm[@]}" "${LOG4J_OPTS[@]}" -cp "$jars/*" org.apache.hadoop.hdfs.server.namenode.NameNode "${settings[@]}"
