#!/usr/bin/env bash
# Proves examples/airflow/spark_sync_dag.py with a real Apache Airflow (pinned below), a real
# Kafka broker and the real CLI:
#   1. a run syncs a 20,000-row file; an independent consumer counts exactly 20,000 messages
#      and 20,000 distinct keys, and the task's XCom holds the CLI's JSON summary;
#   2. exit 4 (source changed after the sync) and exit 2 (missing file) fail after one try;
#   3. exit 3 (broker unreachable) is retried, and fails after retries + 1 tries.
# Usage: bash scripts/check-airflow.sh   (PYTHON=/path/to/python3.11 to choose the interpreter)
# The venv in .cache/airflow-venv is reused while the pins are unchanged. Exits non-zero on any
# failure and then keeps its temporary directory (logs of every run) for inspection.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AIRFLOW_VERSION=2.10.5
CONSTRAINTS="$ROOT/examples/airflow/constraints-$AIRFLOW_VERSION-py3.11.txt"
VENV="$ROOT/.cache/airflow-venv"
CLI="$ROOT/bin/spark-sync.js"
DAG_ID=spark_sync
TASK_ID=submit
ROWS=20000
RETRIES=2

log() { printf '[check-airflow] %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
seconds_since() { awk -v ms=$(($(now_ms) - $1)) 'BEGIN { printf "%.1f", ms / 1000 }'; }

# --- 1. Airflow in a venv ------------------------------------------------------------------
# Airflow's constraints approach, with the constraints file in the repo (GitHub, where Airflow
# publishes them, is not reachable from every build machine). The stamp names the pin, the
# constraints' hash and the interpreter, so a changed pin reinstalls and a rerun skips.
if [[ -z "${PYTHON:-}" ]]; then
  PYTHON=$(command -v python3.11 || command -v python3) || fail "no python3 found"
fi
py_version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[[ "$py_version" == 3.11 ]] || log "warning: Python $py_version; the constraints were made on 3.11"
stamp="apache-airflow==$AIRFLOW_VERSION $(sha256sum "$CONSTRAINTS" | cut -c1-16) python$py_version"
install_start=$(now_ms)
if [[ -f "$VENV/.installed" && "$(cat "$VENV/.installed")" == "$stamp" ]]; then
  log "Airflow $AIRFLOW_VERSION already installed in ${VENV#"$ROOT/"}, skipping the install"
  install_note="skipped, venv present"
else
  log "installing apache-airflow==$AIRFLOW_VERSION into ${VENV#"$ROOT/"} (pinned by ${CONSTRAINTS#"$ROOT/"})"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "apache-airflow==$AIRFLOW_VERSION" --constraint "$CONSTRAINTS"
  "$VENV/bin/pip" check --disable-pip-version-check >/dev/null || fail "pip check found broken requirements"
  echo "$stamp" >"$VENV/.installed"
  install_note="installed"
fi
install_seconds=$(seconds_since "$install_start")
log "Airflow install: ${install_seconds}s ($install_note)"
AIRFLOW="$VENV/bin/airflow"
PY="$VENV/bin/python"

# --- 2. a scratch world: Airflow home, broker, sample file -------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/check-airflow.XXXXXX")
broker_started=0
cleanup() {
  local status=$?
  if [[ $broker_started == 1 ]]; then
    node "$CLI" broker stop --data-dir "$WORK/kafka" >"$WORK/broker-stop.log" 2>&1 ||
      { log "warning: broker stop failed, see $WORK/broker-stop.log"; status=1; }
  fi
  if [[ $status == 0 ]]; then rm -rf "$WORK"; else log "kept $WORK (logs of every run)"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

export AIRFLOW_HOME="$WORK/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/examples/airflow"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
"$AIRFLOW" db migrate >"$WORK/db-migrate.log" 2>&1 || fail "airflow db migrate failed, see $WORK/db-migrate.log"
"$AIRFLOW" dags list-import-errors 2>&1 | grep -q "No data found" ||
  fail "the DAG folder has import errors: $("$AIRFLOW" dags list-import-errors 2>&1)"

port=$(free_port)
BOOTSTRAP="127.0.0.1:$port"
broker_started=1
node "$CLI" broker start --port "$port" --data-dir "$WORK/kafka" >"$WORK/broker.log" 2>&1 ||
  fail "broker start failed, see $WORK/broker.log"
node "$CLI" sample --rows "$ROWS" --output "$WORK/events.parquet" >"$WORK/sample.log" 2>&1 ||
  fail "sample failed, see $WORK/sample.log"

# The DAG's settings, as Airflow Variables given through Airflow's env-var backend.
export SPARK_SYNC_HOME="$WORK/spark-sync-home"
export AIRFLOW_VAR_SPARK_SYNC_BIN="$CLI"
export AIRFLOW_VAR_SPARK_SYNC_TOPIC=events
export AIRFLOW_VAR_SPARK_SYNC_EXTRA_ARGS="--create-topic --partitions 3 --batch-size 5000"
# Parse-time knobs of the DAG: two retries, one second apart, so the exit-3 case is quick.
export SPARK_SYNC_DAG_RETRIES=$RETRIES
export SPARK_SYNC_DAG_RETRY_DELAY_SECONDS=1

# run_dag NAME DATE VAR=VALUE...: `airflow dags test` for one logical date (one DAG run each),
# output in $WORK/NAME.log; sets dag_rc.
run_dag() {
  local name=$1 date=$2
  shift 2
  dag_rc=0
  env "$@" "$AIRFLOW" dags test "$DAG_ID" "$date" >"$WORK/$name.log" 2>&1 || dag_rc=$?
}

# expect_ti DATE STATE TRIES: the task instance of that run, read from Airflow's database,
# must be in STATE after exactly TRIES tries. Prints its XCom return_value (or nothing).
expect_ti() {
  "$PY" - "$DAG_ID" "$TASK_ID" "$@" <<'PY'
import sys
import pendulum
from sqlalchemy import select
from airflow.models import TaskInstance, XCom
from airflow.utils.session import create_session

dag_id, task_id, date, state, tries = sys.argv[1:]
with create_session() as session:
    ti = session.scalars(select(TaskInstance).where(
        TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id,
        TaskInstance.execution_date == pendulum.parse(date))).one()
    if ti.state != state or ti.try_number != int(tries):
        sys.exit(f"task {task_id} of {date}: {ti.state} after {ti.try_number} tries, "
                 f"expected {state} after {tries}")
    xcom = XCom.get_one(key="return_value", dag_id=dag_id, task_id=task_id, run_id=ti.run_id,
                        session=session)
    print(xcom if xcom is not None else "")
PY
}

# count_lines NAME PATTERN: how many lines of that run's log contain PATTERN.
count_lines() { grep -c -F -- "$2" "$WORK/$1.log" || true; }

# expect_tries NAME CODE TRIES: the log of that run shows TRIES tries, each exiting CODE, and
# TRIES - 1 retries. (dags test prints some task log lines twice, through two handlers, so
# tries are counted by dag.py's one "starting" line each.)
expect_tries() {
  local name=$1 code=$2 tries=$3 codes
  codes=$(grep -o "Command exited with return code [0-9]*" "$WORK/$name.log" | sort -u)
  [[ $(count_lines "$name" "[DAG TEST] starting task_id=$TASK_ID") == "$tries" &&
    $codes == "Command exited with return code $code" &&
    $(count_lines "$name" "Marking task as UP_FOR_RETRY") == $((tries - 1)) ]] ||
    fail "$name: expected $tries tries, each exiting $code, see $WORK/$name.log"
}

expect_topic() {
  local counts
  counts=$(node "$ROOT/scripts/lib/count-topic.js" "$BOOTSTRAP" events) || fail "counting the topic failed"
  [[ "$counts" == "{\"topic\":\"events\",\"messages\":$ROWS,\"distinctKeys\":$ROWS,\"nullKeys\":0}" ]] ||
    fail "topic events after $1: $counts, expected $ROWS messages with $ROWS distinct keys"
  log "ok: topic events after $1: $counts"
}

# --- 3. the happy path ------------------------------------------------------------------------
log "run 1: sync $ROWS rows to $BOOTSTRAP through airflow dags test"
dag_start=$(now_ms)
run_dag sync 2024-01-01 \
  AIRFLOW_VAR_SPARK_SYNC_SOURCE="$WORK/events.parquet" \
  AIRFLOW_VAR_SPARK_SYNC_BOOTSTRAP_SERVER="$BOOTSTRAP" \
  AIRFLOW_VAR_SPARK_SYNC_CHECKPOINT="$WORK/checkpoint.db"
dag_seconds=$(seconds_since "$dag_start")
[[ $dag_rc == 0 ]] || fail "airflow dags test exited $dag_rc, see $WORK/sync.log"
summary=$(expect_ti 2024-01-01 success 1) || fail "run 1: see $WORK/sync.log"
expect_tries sync 0 1
"$PY" -c '
import json, sys
s = json.loads(sys.argv[1])
sys.exit(0 if s.get("ok") and s.get("recordsSent") == int(sys.argv[2]) else f"XCom summary: {sys.argv[1]}")
' "$summary" "$ROWS" || fail "the XCom return_value is not the CLI's summary of $ROWS records"
log "ok: task succeeded on try 1 in ${dag_seconds}s (whole dags test); XCom: $summary"
expect_topic "run 1"

# --- 4. exit 4 and exit 2 fail at once ----------------------------------------------------
# expect_no_retry NAME DATE CODE: that run's task failed on its first try with CODE, not retried.
expect_no_retry() {
  local name=$1 date=$2 code=$3
  [[ $dag_rc != 0 ]] || fail "airflow dags test of $name succeeded, see $WORK/$name.log"
  expect_ti "$date" failed 1 >/dev/null || fail "$name: see $WORK/$name.log"
  [[ $(count_lines "$name" "spark-sync exited with $code (") -ge 1 ]] ||
    fail "$name: no 'spark-sync exited with $code' in $WORK/$name.log"
  expect_tries "$name" "$code" 1
  [[ $(count_lines "$name" "Immediate failure requested. Marking task as FAILED") == 1 ]] ||
    fail "$name: expected an immediate failure (AirflowFailException), see $WORK/$name.log"
  log "ok: exit $code failed the task on try 1 of $((RETRIES + 1)), not retried"
}

# A file changed after its sync is a consistency violation (exit 4): never re-sent, never retried.
touch "$WORK/events.parquet"
log "run 2: the synced file changed (exit 4 expected, no retry)"
run_dag changed 2024-01-02 \
  AIRFLOW_VAR_SPARK_SYNC_SOURCE="$WORK/events.parquet" \
  AIRFLOW_VAR_SPARK_SYNC_BOOTSTRAP_SERVER="$BOOTSTRAP" \
  AIRFLOW_VAR_SPARK_SYNC_CHECKPOINT="$WORK/checkpoint.db"
expect_no_retry changed 2024-01-02 4

log "run 3: a missing source file (exit 2 expected, no retry)"
run_dag missing 2024-01-03 \
  AIRFLOW_VAR_SPARK_SYNC_SOURCE="$WORK/missing.parquet" \
  AIRFLOW_VAR_SPARK_SYNC_BOOTSTRAP_SERVER="$BOOTSTRAP" \
  AIRFLOW_VAR_SPARK_SYNC_CHECKPOINT="$WORK/checkpoint.db"
expect_no_retry missing 2024-01-03 2
expect_topic "the failed runs"

# --- 5. exit 3 is retried ----------------------------------------------------------------------
dead_port=$(free_port) # nothing listens there
log "run 4: an unreachable broker at 127.0.0.1:$dead_port (exit 3 expected, $RETRIES retries)"
run_dag unreachable 2024-01-04 \
  AIRFLOW_VAR_SPARK_SYNC_SOURCE="$WORK/events.parquet" \
  AIRFLOW_VAR_SPARK_SYNC_BOOTSTRAP_SERVER="127.0.0.1:$dead_port" \
  AIRFLOW_VAR_SPARK_SYNC_CHECKPOINT="$WORK/checkpoint-unreachable.db"
[[ $dag_rc != 0 ]] || fail "airflow dags test of unreachable succeeded, see $WORK/unreachable.log"
expect_ti 2024-01-04 failed $((RETRIES + 1)) >/dev/null || fail "unreachable: see $WORK/unreachable.log"
expect_tries unreachable 3 $((RETRIES + 1))
[[ $(count_lines unreachable "Immediate failure requested") == 0 ]] ||
  fail "unreachable: exit 3 failed immediately instead of retrying, see $WORK/unreachable.log"
log "ok: exit 3 was retried $RETRIES times, then the task failed on try $((RETRIES + 1))"

log "PASS: Airflow $AIRFLOW_VERSION; install ${install_seconds}s ($install_note); DAG run ${dag_seconds}s"
