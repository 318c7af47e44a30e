"""spark-sync's exit codes as Airflow outcomes: the summary as XCom value, 3 retried, idle
skipped on request, everything else failed at once with the CLI's error line."""

from __future__ import annotations

import json

import pytest

from conftest import SUMMARY
from spark_sync_airflow import SparkSyncFailedError, SparkSyncOperator, SparkSyncRetriableError, SparkSyncVerifyOperator
from spark_sync_airflow.compat import AirflowException, AirflowFailException, AirflowSkipException


def error_run(code: str, exit_code: int, message: str) -> dict:
    """What the CLI prints when it fails: one error line on stderr, the failure summary on stdout."""
    return {
        "stderr": [
            '{"level":30,"time":"2024-01-15T00:00:00.000Z","msg":"planned 1 file(s)"}',
            f"spark-sync: error [{code}]: {message}",
        ],
        "stdout": [
            json.dumps(
                {
                    "ok": False,
                    "error": {"code": code, "exit_code": exit_code, "retriable": exit_code == 3, "message": message},
                }
            )
        ],
        "exit": exit_code,
    }


@pytest.fixture
def run(fake_cli, kafka_conn):
    conn_id = kafka_conn(host="127.0.0.1:9092")

    def run_submit(operator=SparkSyncOperator, **plan_and_kwargs):
        kwargs = {k: plan_and_kwargs.pop(k) for k in ("skip_when_idle", "topic") if k in plan_and_kwargs}
        args = {
            "task_id": "t",
            "kafka_conn_id": conn_id,
            "topic": kwargs.pop("topic", "events"),
            **kwargs,
            **fake_cli.plan(**plan_and_kwargs),
        }
        if operator is SparkSyncOperator:
            args["source"] = "/data/events"
        return operator(**args).execute({})

    return run_submit


def test_exit_0_returns_the_parsed_summary_as_the_xcom_value(run):
    # The summary is the last stdout line; anything printed before it is not the return value.
    assert run(stdout=["not json", json.dumps(SUMMARY)]) == SUMMARY


def test_exit_0_without_a_summary_fails_without_retry(run):
    with pytest.raises(SparkSyncFailedError, match="printed no JSON summary"):
        run(stdout=["done"])


def test_exit_3_is_retriable_with_the_error_line(run):
    message = "Kafka at 127.0.0.1:9092 did not answer within 10 s; check the brokers, then rerun (safe to retry)"
    with pytest.raises(SparkSyncRetriableError) as err:
        run(**error_run("KAFKA_UNREACHABLE", 3, message))
    e = err.value
    assert isinstance(e, AirflowException) and not isinstance(e, AirflowFailException)
    assert e.exit_code == 3
    assert e.error_line == f"spark-sync: error [KAFKA_UNREACHABLE]: {message}"
    assert str(e).startswith("spark-sync exited with 3 (")
    assert e.error_line in str(e)
    assert e.summary["error"]["code"] == "KAFKA_UNREACHABLE"


@pytest.mark.parametrize(
    "exit_code, code",
    [
        (1, "INTERNAL"),
        (2, "USAGE"),
        (4, "SOURCE_CHANGED"),
        (5, "VERIFY_FAILED"),
        (6, "DISK_FULL"),
        (99, "SOMETHING_NEW"),
    ],
)
def test_other_exit_codes_fail_at_once_with_the_error_line(run, exit_code, code):
    with pytest.raises(SparkSyncFailedError) as err:
        run(**error_run(code, exit_code, "what happened; what to do"))
    e = err.value
    assert isinstance(e, AirflowFailException)
    assert e.exit_code == exit_code
    assert f"spark-sync exited with {exit_code} (" in str(e)
    assert f"spark-sync: error [{code}]: what happened; what to do" in str(e)


def test_a_failure_without_an_error_line_still_says_what_the_summary_says(run):
    with pytest.raises(SparkSyncFailedError, match=r"\[USAGE\] --source is required"):
        run(stdout=[json.dumps({"ok": False, "error": {"code": "USAGE", "message": "--source is required"}})], exit=2)


def test_a_cli_killed_by_a_signal_fails_without_retry(run):
    with pytest.raises(SparkSyncFailedError, match="ended by SIGKILL") as err:
        run(kill_self=True)
    assert err.value.exit_code == -9


IDLE = {
    **SUMMARY,
    "recordsSent": 0,
    "files": [
        {"file": "a.parquet", "status": "SKIPPED", "recordsSent": 0},
        {"file": "b.parquet", "status": "SKIPPED", "recordsSent": 0},
    ],
}


def test_nothing_to_send_is_skipped_only_when_asked(run):
    with pytest.raises(AirflowSkipException, match="2 file"):
        run(stdout=[json.dumps(IDLE)], skip_when_idle=True)
    assert run(stdout=[json.dumps(IDLE)]) == IDLE


def test_a_run_that_completed_a_file_is_not_idle(run):
    partly = {**IDLE, "files": [IDLE["files"][0], {"file": "b.parquet", "status": "COMPLETED", "recordsSent": 0}]}
    assert run(stdout=[json.dumps(partly)], skip_when_idle=True) == partly


VERIFY = {
    "command": "verify",
    "ok": True,
    "topic": "events",
    "scope": "range",
    "checkpoint": "spark-sync-checkpoints",
    "files": [{"file": "a.parquet", "missing": 0, "duplicated": 0, "foreign": 0, "clean": True}],
    "naturalKeys": [],
    "unaccounted": 0,
    "pending": 0,
    "seconds": 3.2,
}


def test_verify_returns_its_summary(run):
    assert run(SparkSyncVerifyOperator, stdout=[json.dumps(VERIFY)]) == VERIFY


def test_verify_exit_5_fails_with_the_counts(run):
    dirty = {
        **VERIFY,
        "ok": False,
        "files": [
            {"file": "a.parquet", "missing": 2, "duplicated": 1, "foreign": 0, "clean": False},
            {"file": "b.parquet", "missing": 0, "duplicated": 0, "foreign": 0, "clean": True},
        ],
        "naturalKeys": [
            {"keyFields": ["id"], "files": ["c.csv"], "missing": 1, "duplicated": 0, "foreign": 4, "clean": False}
        ],
        "unaccounted": 7,
    }
    with pytest.raises(SparkSyncFailedError) as err:
        run(SparkSyncVerifyOperator, stdout=[json.dumps(dirty)], exit=5)
    assert "spark-sync exited with 5 (" in str(err.value)
    assert "topic events: 3 missing, 1 duplicated, 4 foreign, 7 unaccounted in a.parquet" in str(err.value)
    assert err.value.summary == dirty


def test_verify_exit_3_is_retriable(run):
    with pytest.raises(SparkSyncRetriableError):
        run(SparkSyncVerifyOperator, **error_run("KAFKA_UNREACHABLE", 3, "no broker"))
