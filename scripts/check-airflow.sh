#!/usr/bin/env bash
# Proves the operators of integrations/airflow (spark_sync_airflow, installed with pip) and
# examples/airflow/spark_sync_dag.py with a real Apache Airflow (pinned below), a real Kafka
# broker and the real CLI:
#   1. a run syncs a 20,000-row file; an independent consumer counts exactly 20,000 messages
#      and 20,000 distinct keys, the task's XCom is the CLI's JSON summary, and verify passes;
#   2. a rerun with nothing new skips the task (skip_when_idle);
#   3. exit 4 (source changed after the sync) and exit 2 (missing file) fail after one try;
#   4. exit 3 (broker unreachable) is retried, and fails after retries + 1 tries;
#   5. SIGTERM to `airflow tasks test` mid-sync: on_kill stops the CLI, which exits 3 with the
#      lease released; the rerun completes the topic exactly.
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
# The operators' package, from this tree, every time (its code changes more often than the pin).
# --no-deps keeps the pinned Airflow untouched; pip check then proves the package's requirements
# (apache-airflow>=2.10) are met by it. setuptools builds in the tree and would reuse a stale
# build/ (a deleted module included again), hence its removal.
rm -rf "$ROOT/integrations/airflow/build"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --force-reinstall "$ROOT/integrations/airflow" ||
  fail "pip install ./integrations/airflow failed"
"$VENV/bin/pip" check --disable-pip-version-check >/dev/null || fail "pip check found broken requirements after installing the operators"
install_seconds=$(seconds_since "$install_start")
log "Airflow install: ${install_seconds}s ($install_note; spark-sync-airflow reinstalled)"
# The package's own unit tests (no Kafka, no Spark), with this Airflow.
"$VENV/bin/pip" install --quiet --disable-pip-version-check "pytest==8.3.4" || fail "pip install pytest failed"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/integrations/airflow/tests" >&2 || fail "the operators' unit tests failed"
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

# The DAG's settings, as Airflow Variables given through Airflow's env-var backend; Kafka as the
# Connection kafka_default (env-var backend too, so each run can point it elsewhere). The
# checkpoint is spark-sync's default: the topic spark-sync-checkpoints, with its local copy in
# the spark_sync_home Variable's folder.
HOME_DIR="$WORK/spark-sync-home"
export AIRFLOW_VAR_SPARK_SYNC_HOME="$HOME_DIR"
export AIRFLOW_VAR_SPARK_SYNC_BIN="$CLI"
export AIRFLOW_VAR_SPARK_SYNC_TOPIC=events
export AIRFLOW_VAR_SPARK_SYNC_EXTRA_ARGS="--create-topic --partitions 3 --batch-size 5000"
kafka_conn() { printf '{"conn_type": "kafka", "host": "%s"}' "$1"; }
export AIRFLOW_CONN_KAFKA_DEFAULT="$(kafka_conn "$BOOTSTRAP")"
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

# expect_ti DATE STATE TRIES [TASK]: the task instance (default: submit) of that run, read from
# Airflow's database, must be in STATE after exactly TRIES tries. Prints its XCom return_value
# as JSON (or nothing).
expect_ti() {
  "$PY" - "$DAG_ID" "${4:-$TASK_ID}" "$1" "$2" "$3" <<'PY'
import json
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
    print(json.dumps(xcom) if xcom is not None else "")
PY
}

# count_lines NAME PATTERN: how many lines of that run's log contain PATTERN.
count_lines() { grep -c -F -- "$2" "$WORK/$1.log" || true; }

# expect_tries NAME CODE TRIES: the log of that run shows TRIES tries, each exiting CODE, and
# TRIES - 1 retries. (dags test prints some task log lines twice, through two handlers, so
# tries are counted by dag.py's one "starting" line each.)
expect_tries() {
  local name=$1 code=$2 tries=$3 codes
  codes=$(grep -o "spark-sync exited with code [0-9]*" "$WORK/$name.log" | sort -u)
  [[ $(count_lines "$name" "[DAG TEST] starting task_id=$TASK_ID") == "$tries" &&
    $codes == "spark-sync exited with code $code" &&
    $(count_lines "$name" "Marking task as UP_FOR_RETRY") == $((tries - 1)) ]] ||
    fail "$name: expected $tries tries, each exiting $code, see $WORK/$name.log"
}

# expect_topic WHEN [TOPIC]: the topic (default events) holds exactly $ROWS messages, each key once.
expect_topic() {
  local counts topic=${2:-events}
  counts=$(node "$ROOT/scripts/lib/count-topic.js" "$BOOTSTRAP" "$topic") || fail "counting the topic failed"
  [[ "$counts" == "{\"topic\":\"$topic\",\"messages\":$ROWS,\"distinctKeys\":$ROWS,\"nullKeys\":0}" ]] ||
    fail "topic $topic after $1: $counts, expected $ROWS messages with $ROWS distinct keys"
  log "ok: topic $topic after $1: $counts"
}

# --- 3. the happy path ------------------------------------------------------------------------
log "run 1: sync $ROWS rows to $BOOTSTRAP through airflow dags test"
dag_start=$(now_ms)
run_dag sync 2024-01-01 AIRFLOW_VAR_SPARK_SYNC_SOURCE="$WORK/events.parquet"
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
verified=$(expect_ti 2024-01-01 success 1 verify) || fail "run 1, verify: see $WORK/sync.log"
"$PY" -c '
import json, sys
s = json.loads(sys.argv[1])
bad = [f for f in s.get("files", []) if not f.get("clean") or f.get("missing") or f.get("duplicated")]
sys.exit(0 if s.get("ok") and s.get("files") and not bad and s.get("unaccounted") == 0 else f"verify XCom: {sys.argv[1]}")
' "$verified" || fail "verify's XCom is not a clean audit"
log "ok: verify passed on try 1: no missing, duplicated or unaccounted record"

# --- 4. nothing new: skipped ------------------------------------------------------------------
log "run 2: the same file again (nothing to send: the task is skipped)"
run_dag idle 2024-01-02 AIRFLOW_VAR_SPARK_SYNC_SOURCE="$WORK/events.parquet"
[[ $dag_rc == 0 ]] || fail "airflow dags test of idle exited $dag_rc, see $WORK/idle.log"
[[ -z $(expect_ti 2024-01-02 skipped 1) ]] || fail "idle: a skipped task pushed an XCom, see $WORK/idle.log"
expect_tries idle 0 1
expect_topic "the idle run"
log "ok: nothing new: submit skipped on try 1, nothing sent"

# --- 5. exit 4 and exit 2 fail at once ----------------------------------------------------
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
log "run 3: the synced file changed (exit 4 expected, no retry)"
run_dag changed 2024-01-03 AIRFLOW_VAR_SPARK_SYNC_SOURCE="$WORK/events.parquet"
expect_no_retry changed 2024-01-03 4

log "run 4: a missing source file (exit 2 expected, no retry)"
run_dag missing 2024-01-04 AIRFLOW_VAR_SPARK_SYNC_SOURCE="$WORK/missing.parquet"
expect_no_retry missing 2024-01-04 2
expect_topic "the failed runs"

# --- 6. exit 3 is retried ----------------------------------------------------------------------
dead_port=$(free_port) # nothing listens there
log "run 5: an unreachable broker at 127.0.0.1:$dead_port (exit 3 expected, $RETRIES retries)"
run_dag unreachable 2024-01-05 \
  AIRFLOW_VAR_SPARK_SYNC_SOURCE="$WORK/events.parquet" \
  AIRFLOW_CONN_KAFKA_DEFAULT="$(kafka_conn "127.0.0.1:$dead_port")"
[[ $dag_rc != 0 ]] || fail "airflow dags test of unreachable succeeded, see $WORK/unreachable.log"
expect_ti 2024-01-05 failed $((RETRIES + 1)) >/dev/null || fail "unreachable: see $WORK/unreachable.log"
expect_tries unreachable 3 $((RETRIES + 1))
[[ $(count_lines unreachable "Immediate failure requested") == 0 ]] ||
  fail "unreachable: exit 3 failed immediately instead of retrying, see $WORK/unreachable.log"
log "ok: exit 3 was retried $RETRIES times, then the task failed on try $((RETRIES + 1))"

# --- 7. on_kill mid-sync ---------------------------------------------------------------------
# `airflow tasks test` runs the task in its own process, whose SIGTERM handler calls on_kill, as
# a worker's does when a task is marked failed or times out. The CLI pauses before its second
# batch (a test-only switch) so that the signal lands mid-sync, after batch 0 was committed.
KILL_TOPIC=events-kill
log "run 6: SIGTERM to airflow tasks test during a sync to $KILL_TOPIC (on_kill: CLI exit 3, lease released)"
env AIRFLOW_VAR_SPARK_SYNC_SOURCE="$WORK/events.parquet" AIRFLOW_VAR_SPARK_SYNC_TOPIC="$KILL_TOPIC" \
  SPARK_SYNC_TEST_PAUSE_BEFORE_BATCH=1:10000 \
  "$AIRFLOW" tasks test "$DAG_ID" "$TASK_ID" 2024-01-06 >"$WORK/killed.log" 2>&1 &
airflow_pid=$!
for _ in $(seq 1 900); do
  grep -q '"msg":"test pause"' "$WORK/killed.log" && break
  kill -0 "$airflow_pid" 2>/dev/null || fail "killed: airflow tasks test ended before the sync paused, see $WORK/killed.log"
  sleep 0.2
done
grep -q '"msg":"test pause"' "$WORK/killed.log" || { kill -KILL "$airflow_pid"; fail "killed: the sync never paused, see $WORK/killed.log"; }
kill_start=$(now_ms)
kill -TERM "$airflow_pid"
for _ in $(seq 1 450); do kill -0 "$airflow_pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$airflow_pid" 2>/dev/null; then
  kill -KILL "$airflow_pid"
  fail "killed: airflow tasks test still ran 90 s after SIGTERM, see $WORK/killed.log"
fi
kill_rc=0
wait "$airflow_pid" || kill_rc=$?
kill_seconds=$(seconds_since "$kill_start")
[[ $kill_rc != 0 ]] || fail "killed: airflow tasks test exited 0 after SIGTERM, see $WORK/killed.log"
# The CLI's own exit code: Airflow's SIGTERM handler raises once on_kill returns, so execute
# never logs it; on_kill does.
for line in "on_kill: sending SIGTERM to spark-sync (pid" "error [INTERRUPTED]" ") stopped with exit code 3"; do
  [[ $(count_lines killed "$line") -ge 1 ]] || fail "killed: no '$line' in $WORK/killed.log"
done
[[ $(count_lines killed "its process group was SIGKILLed") == 0 ]] ||
  fail "killed: the CLI outlived on_kill's timeout and was SIGKILLed, see $WORK/killed.log"
! pgrep -f -- "--topic $KILL_TOPIC" >/dev/null || fail "killed: a spark-sync process for $KILL_TOPIC is still running"
"$PY" - "$HOME_DIR/checkpoint.db" "$KILL_TOPIC" <<'PY' || fail "killed: the topic's lease was not released"
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = db.execute("SELECT owner, released_at FROM leases WHERE kafka_topic = ?", (sys.argv[2],)).fetchall()
sys.exit(0 if rows and all(released for _, released in rows) else f"leases of {sys.argv[2]}: {rows}")
PY
log "ok: on_kill stopped the sync in ${kill_seconds}s: the CLI exited 3 (INTERRUPTED), its lease released"

log "run 7: the same sync again after the kill (completes $KILL_TOPIC exactly)"
run_dag rerun 2024-01-07 AIRFLOW_VAR_SPARK_SYNC_SOURCE="$WORK/events.parquet" AIRFLOW_VAR_SPARK_SYNC_TOPIC="$KILL_TOPIC"
[[ $dag_rc == 0 ]] || fail "airflow dags test of rerun exited $dag_rc, see $WORK/rerun.log"
expect_ti 2024-01-07 success 1 >/dev/null || fail "rerun: see $WORK/rerun.log"
expect_topic "the rerun after the kill" "$KILL_TOPIC"

log "PASS: Airflow $AIRFLOW_VERSION; install ${install_seconds}s ($install_note); DAG run ${dag_seconds}s"
