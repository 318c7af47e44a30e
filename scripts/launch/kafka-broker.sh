#!/usr/bin/env bash
# kafka-broker.sh: one Apache Kafka 3.9 node in KRaft mode (broker and controller in one JVM),
# from the jars in jars/kafka. One node alone is a development broker (the shape of
# `spark-sync broker start`); three started with the same --voters and --cluster-id are a cluster.
#
# Usage: kafka-broker.sh [flags] [key=value ...]
# Each flag overrides its environment variable; trailing key=value pairs are extra
# server.properties settings and win over the launcher's own (e.g. num.partitions=6).
#
#   --node-id N              KAFKA_NODE_ID             default 1
#   --host ADDR              KAFKA_HOST                default 127.0.0.1   address both listeners bind
#   --advertised-host HOST   KAFKA_ADVERTISED_HOST     default --host      name clients and other nodes
#                                                      use (required when --host is 0.0.0.0)
#   --port P                 KAFKA_PORT                default 9092        client listener (PLAINTEXT)
#   --controller-port P      KAFKA_CONTROLLER_PORT     default 9093        KRaft controller listener
#   --voters LIST            KAFKA_CONTROLLER_QUORUM_VOTERS  default <node-id>@<advertised-host>:<controller-port>
#                                                      every controller, as id@host:port,…
#   --cluster-id ID          KAFKA_CLUSTER_ID          default: a new random id (one node only; all
#                                                      nodes of a cluster must be formatted with one id)
#   --data-dir DIR           KAFKA_DATA_DIR            default $SPARK_SYNC_HOME/kafka-<node-id>
#                                                      (server.properties here, the log under data/)
#   --heap SIZE              KAFKA_HEAP                default 256m        JVM -Xmx
#   --jars DIR               KAFKA_JARS                default <repo>/jars/kafka
#   environment only:        JAVA_HOME, KAFKA_JAVA_OPTS (extra JVM options), LOG_LEVEL (INFO)
#   LAUNCH_DRY_RUN=1       check the settings and jars, print what would run (see lib.sh), start nothing
#
# The replication settings follow the number of voters n: internal topics and new topics get
# replication factor min(n, 3) and min.insync.replicas 2 once n >= 3 (else 1). On the first
# start the storage is formatted (kafka.tools.StorageTool format --ignore-formatted), as
# src/dev/dev-broker.ts does; later starts reuse it. Then `exec java … kafka.Kafka
# server.properties`; logs go to stderr. Ready when the log says "Kafka Server started".
# Stopping: SIGTERM, a controlled shutdown of a few seconds. Stop a cluster's nodes together:
# a node left alone without a controller quorum waits 5 minutes for it before exiting (Kafka's
# own limit), so a caller that stops nodes one by one should SIGKILL after its own deadline.
set -euo pipefail
# shellcheck source=scripts/launch/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

node_id="${KAFKA_NODE_ID:-1}"
host="${KAFKA_HOST:-127.0.0.1}"
advertised="${KAFKA_ADVERTISED_HOST:-}"
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-9093}"
voters="${KAFKA_CONTROLLER_QUORUM_VOTERS:-}"
cluster_id="${KAFKA_CLUSTER_ID:-}"
data_dir="${KAFKA_DATA_DIR:-}"
heap="${KAFKA_HEAP:-256m}"
jars="${KAFKA_JARS:-$LAUNCH_ROOT/jars/kafka}"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --node-id) node_id="$(launch_value "$@")"; shift 2 ;;
    --host) host="$(launch_value "$@")"; shift 2 ;;
    --advertised-host) advertised="$(launch_value "$@")"; shift 2 ;;
    --port) port="$(launch_value "$@")"; shift 2 ;;
    --controller-port) controller_port="$(launch_value "$@")"; shift 2 ;;
    --voters) voters="$(launch_value "$@")"; shift 2 ;;
    --cluster-id) cluster_id="$(launch_value "$@")"; shift 2 ;;
    --data-dir) data_dir="$(launch_value "$@")"; shift 2 ;;
    --heap) heap="$(launch_value "$@")"; shift 2 ;;
    --jars) jars="$(launch_value "$@")"; shift 2 ;;
    -h | --help) launch_usage; exit 0 ;;
    *=*) extra+=("$1"); shift ;;
    *) launch_die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ "$node_id" =~ ^[0-9]+$ ]] || launch_die "--node-id must be a number, not '$node_id'"
launch_port --port "$port"
launch_port --controller-port "$controller_port"
if [[ -z "$advertised" ]]; then
  [[ "$host" != "0.0.0.0" && "$host" != "::" ]] || launch_die "--host $host needs --advertised-host (the name other nodes and clients use)"
  advertised="$host"
fi
voters="${voters:-$node_id@$advertised:$controller_port}"
[[ "$voters" =~ ^[0-9]+@[^,@:]+:[0-9]+(,[0-9]+@[^,@:]+:[0-9]+)*$ ]] || launch_die "--voters must be id@host:port,…, not '$voters'"
[[ ",$voters" == *",$node_id@"* ]] || launch_die "node $node_id is not among the voters $voters"
IFS=, read -r -a voter_list <<<"$voters"
nodes=${#voter_list[@]}
if [[ -n "$cluster_id" && ! "$cluster_id" =~ ^[A-Za-z0-9_][A-Za-z0-9_-]{21}$ ]]; then
  launch_die "--cluster-id must be a Kafka Uuid (22 base64url characters, not starting with '-'), not '$cluster_id'"
fi
if [[ -z "$cluster_id" ]]; then
  ((nodes == 1)) || launch_die "a cluster of $nodes nodes needs one --cluster-id (KAFKA_CLUSTER_ID) shared by all of them"
fi
data_dir="${data_dir:-$LAUNCH_HOME/kafka-$node_id}"
launch_jars "$jars" "Apache Kafka's broker"
java="$(launch_java)"
launch_log4j1_opts "${LOG_LEVEL:-INFO}"

rf=$((nodes < 3 ? nodes : 3))
min_isr=$((nodes >= 3 ? 2 : 1))
data_dir="$(launch_dir "$data_dir")"
launch_dir "$data_dir/data" >/dev/null
config="$data_dir/server.properties"
{
  echo "# Written by scripts/launch/kafka-broker.sh at each start; edit its flags, not this file."
  echo "process.roles=broker,controller"
  echo "node.id=$node_id"
  echo "controller.quorum.voters=$voters"
  echo "listeners=PLAINTEXT://$host:$port,CONTROLLER://$host:$controller_port"
  echo "advertised.listeners=PLAINTEXT://$advertised:$port"
  echo "controller.listener.names=CONTROLLER"
  echo "inter.broker.listener.name=PLAINTEXT"
  echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  echo "log.dirs=$data_dir/data"
  echo "num.partitions=1"
  echo "num.network.threads=2"
  echo "num.io.threads=4"
  echo "default.replication.factor=$rf"
  echo "min.insync.replicas=$min_isr"
  echo "offsets.topic.replication.factor=$rf"
  # One partition for the offsets topic on a single node, as the development broker has.
  if ((nodes == 1)); then echo "offsets.topic.num.partitions=1"; fi
  echo "transaction.state.log.replication.factor=$rf"
  echo "transaction.state.log.min.isr=$min_isr"
  echo "group.initial.rebalance.delay.ms=0"
  echo "auto.create.topics.enable=false"
  echo "delete.topic.enable=true"
  # Later lines win in a properties file, so key=value arguments override the lines above.
  for kv in "${extra[@]+"${extra[@]}"}"; do echo "$kv"; done
} | launch_write "$config"

if [[ ! -f "$data_dir/data/meta.properties" ]]; then
  if [[ -z "$cluster_id" ]]; then
    # 16 random bytes, base64url without padding (Kafka's Uuid); a leading '-' would read as
    # an option to StorageTool, so draw again (dev-broker.ts does the same).
    until [[ -n "$cluster_id" && "$cluster_id" != -* ]]; do
      cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    done
  fi
  launch_log4j1_opts WARN
  launch_run "$java" -Xmx256m "${LOG4J_OPTS[@]}" -cp "$jars/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$config" --ignore-formatted ||
    launch_die "formatting the storage in $data_dir/data failed (see above)"
  launch_log4j1_opts "${LOG_LEVEL:-INFO}"
fi

# shellcheck disable=SC2086 # KAFKA_JAVA_OPTS: one JVM option per word
launch_exec "$java" -Xmx"$heap" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
  "${LOG4J_OPTS[@]}" ${KAFKA_JAVA_OPTS:-} \
  -cp "$jars/*" kafka.Kafka "$config"
