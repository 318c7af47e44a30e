#!/usr/bin/env bash
# hive-metastore.sh: a Hive 2.3.9 metastore server (thrift; org.apache.hadoop.hive.metastore.
# HiveMetaStore, the Hive line Spark 3.5 ships) from Spark's jars, with an embedded Derby
# database. Spark and spark-sync reach it with
#   --conf spark.hadoop.hive.metastore.uris=thrift://<host>:<port>
# Runs in the foreground (`exec java`); the Derby schema is created on the first start.
#
# Usage: hive-metastore.sh [flags] [key=value ...]
# Each flag overrides its environment variable; trailing key=value pairs are extra Hive settings
# (passed as -Dkey=value, which HiveConf reads), e.g. hive.metastore.event.db.notification.api.auth=false.
#
#   --port P           HIVE_METASTORE_PORT       default 9083
#   --data-dir DIR     HIVE_METASTORE_DATA_DIR   default $SPARK_SYNC_HOME/hive-metastore
#                                                (the Derby database metastore_db/ and derby.log)
#   --warehouse URI    HIVE_WAREHOUSE_DIR        default file://<data-dir>/warehouse; on a cluster
#                                                an HDFS path, e.g. hdfs://namenode:8020/user/hive/warehouse
#   --heap SIZE        HIVE_METASTORE_HEAP       default 256m        JVM -Xmx
#   --jars DIR         HIVE_JARS                 default <repo>/jars/spark (Spark's hive-metastore,
#                                                Derby, DataNucleus and Hadoop client jars)
#   environment only:  JAVA_HOME, HIVE_JAVA_OPTS (extra JVM options), LOG_LEVEL (INFO)
#   LAUNCH_DRY_RUN=1       check the settings and jars, print what would run (see lib.sh), start nothing
#
# No bind address: Hive 2.3.9's metastore always listens on every interface (its thrift socket
# is HiveAuthUtils.getServerSocket(null, port), and 2.3 has no bind-host setting). Run it on a
# private network (the compose network) or behind a firewall. Embedded Derby allows one
# metastore process per database. Logs go to stderr; ready when the log says
# "Started the new metaserver on port [<port>]".
set -euo pipefail
# shellcheck source=scripts/launch/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

port="${HIVE_METASTORE_PORT:-9083}"
data_dir="${HIVE_METASTORE_DATA_DIR:-$LAUNCH_HOME/hive-metastore}"
warehouse="${HIVE_WAREHOUSE_DIR:-}"
heap="${HIVE_METASTORE_HEAP:-256m}"
jars="${HIVE_JARS:-$LAUNCH_ROOT/jars/spark}"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="$(launch_value "$@")"; shift 2 ;;
    --data-dir) data_dir="$(launch_value "$@")"; shift 2 ;;
    --warehouse) warehouse="$(launch_value "$@")"; shift 2 ;;
    --heap) heap="$(launch_value "$@")"; shift 2 ;;
    --jars) jars="$(launch_value "$@")"; shift 2 ;;
    -h | --help) launch_usage; exit 0 ;;
    *=*) extra+=("-D$1"); shift ;;
    *) launch_die "unknown argument '$1' (see --help)" ;;
  esac
done

launch_port --port "$port"
((10#$port > 0)) || launch_die "--port must be given (clients name it in thrift://host:port)"
launch_jars "$jars" "Spark's Hive metastore"
compgen -G "$jars/hive-metastore-*.jar" >/dev/null || launch_die "no hive-metastore jar in $jars"
java="$(launch_java)"
launch_java17_opens
data_dir="$(launch_dir "$data_dir")"
warehouse="${warehouse:-file://$data_dir/warehouse}"

# shellcheck disable=SC2086 # HIVE_JAVA_OPTS: one JVM option per word
launch_exec "$java" -Xmx"$heap" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true "${JAVA17_OPENS[@]}" \
  -Dhive.log4j.file="$LAUNCH_ROOT/scripts/launch/log4j2.properties" \
  -Dlog4j.configurationFile="$LAUNCH_ROOT/scripts/launch/log4j2.properties" \
  -Dlaunch.log.level="${LOG_LEVEL:-INFO}" \
  -Dderby.stream.error.file="$data_dir/derby.log" \
  "-Djavax.jdo.option.ConnectionURL=jdbc:derby:;databaseName=$data_dir/metastore_db;create=true" \
  -Djavax.jdo.option.ConnectionDriverName=org.apache.derby.jdbc.EmbeddedDriver \
  -Ddatanucleus.schema.autoCreateAll=true \
  -Dhive.metastore.schema.verification=false \
  -Dhive.metastore.warehouse.dir="$warehouse" \
  "${extra[@]+"${extra[@]}"}" ${HIVE_JAVA_OPTS:-} \
  -cp "$jars/*" org.apache.hadoop.hive.metastore.HiveMetaStore -p "$port"
