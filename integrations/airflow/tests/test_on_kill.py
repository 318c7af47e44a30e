"""on_kill stops the CLI as it asks: SIGTERM to its process alone, a wait for its exit 3, and a
SIGKILL of its process group only when it outlives ``stop_timeout``."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from conftest import alive, kill_and_wait
from spark_sync_airflow import SparkSyncFailedError, SparkSyncOperator, SparkSyncRetriableError

INTERRUPTED = (
    "spark-sync: error [INTERRUPTED]: stopped on SIGTERM: the Spark job was cancelled, the checkpoint is consistent"
)


@pytest.fixture
def operator(fake_cli, kafka_conn):
    conn_id = kafka_conn(host="127.0.0.1:9092")

    def make(stop_timeout=10.0, **plan):
        return SparkSyncOperator(
            task_id="submit",
            source="/data/events",
            topic="events",
            kafka_conn_id=conn_id,
            stop_timeout=stop_timeout,
            **fake_cli.plan(**plan),
        )

    return make


def kill_once_ready(op, fake_cli):
    """Calls on_kill from another thread once the stand-in is running, while execute runs on
    this (the main) thread, as Airflow runs it. ``took()`` joins that thread and returns the
    seconds on_kill took."""
    took = {}

    def target():
        fake_cli.wait_ready()
        while op._cli is None:  # the operator holds the process (the start-up race has its own test)
            time.sleep(0.01)
        started = time.monotonic()
        op.on_kill()
        took["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def seconds():
        thread.join(30)
        return took["seconds"]

    return seconds


def test_on_kill_sends_sigterm_and_waits_for_the_clis_exit_3(operator, fake_cli):
    op = operator(
        on_sigterm="exit",
        exit=3,
        stop_seconds=0.5,  # the CLI cancelling its Spark job and releasing the lease
        stderr_on_term=[
            '{"level":40,"msg":"stopping: cancelling the running Spark job (send again to exit at once)"}',
            INTERRUPTED,
        ],
        stdout_on_term=[json.dumps({"ok": False, "error": {"code": "INTERRUPTED", "exit_code": 3, "retriable": True}})],
    )
    took = kill_once_ready(op, fake_cli)
    with pytest.raises(SparkSyncRetriableError) as raised:
        op.execute({})
    # on_kill returned once the CLI had exited, not before, and well within the timeout.
    assert 0.4 < took() < 10

    record = fake_cli.record()
    assert record["sigterm"] == 1  # exactly one: a second would make the CLI exit at once
    assert not alive(record["pid"])
    err = raised.value
    assert err.exit_code == 3
    assert err.error_line == INTERRUPTED
    assert "stopped by on_kill" in str(err)


def test_on_kill_from_a_sigterm_handler_on_the_thread_running_execute(operator, fake_cli):
    # Airflow 2 and 3 call on_kill from their SIGTERM handler, on the main thread, which is
    # inside execute at that moment: the stop must not need that thread to make progress.
    op = operator(on_sigterm="exit", exit=3, stderr_on_term=[INTERRUPTED])
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: op.on_kill())
    try:
        threading.Thread(
            target=lambda: (fake_cli.wait_ready(), os.kill(os.getpid(), signal.SIGTERM)), daemon=True
        ).start()
        with pytest.raises(SparkSyncRetriableError) as err:
            op.execute({})
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert err.value.exit_code == 3 and err.value.error_line == INTERRUPTED
    assert fake_cli.record()["sigterm"] == 1


def test_sigterm_goes_to_the_cli_only_not_its_process_group(operator, fake_cli):
    # The CLI stops what it started itself; a group-wide SIGTERM would hit its children first.
    op = operator(on_sigterm="exit", exit=3, grandchild=True)
    took = kill_once_ready(op, fake_cli)
    with pytest.raises(SparkSyncRetriableError):
        op.execute({})
    took()
    record = fake_cli.record()
    assert record["pgid"] == record["pid"], "the CLI runs in a process group of its own"
    assert record["pgid"] != os.getpgid(0)
    assert alive(record["grandchild"]), "the grandchild got a signal meant for the CLI alone"
    kill_and_wait(record["grandchild"])


def test_a_cli_that_outlives_the_timeout_is_killed_with_its_group(operator, fake_cli):
    op = operator(stop_timeout=1.0, on_sigterm="ignore", grandchild=True)
    took = kill_once_ready(op, fake_cli)
    with pytest.raises(SparkSyncFailedError, match="ended by SIGKILL after it outlived on_kill"):
        op.execute({})
    assert 0.9 < took() < 5
    record = fake_cli.record()
    deadline = time.monotonic() + 5
    while alive(record["grandchild"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(record["pid"]) and not alive(record["grandchild"])


def test_on_kill_while_the_process_is_starting_still_stops_it(operator, fake_cli, monkeypatch):
    # on_kill can come after the process exists but before the operator holds it (a signal
    # handler interrupting execute there): the operator must see the request and stop it.
    from spark_sync_airflow import operators

    op = operator(on_sigterm="exit", exit=3, stderr_on_term=[INTERRUPTED])

    class StartingCli(operators.CliProcess):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            fake_cli.wait_ready()
            op.on_kill()  # sees no process yet: only asks

    monkeypatch.setattr(operators, "CliProcess", StartingCli)
    with pytest.raises(SparkSyncRetriableError, match="stopped by on_kill"):
        op.execute({})
    assert fake_cli.record()["sigterm"] == 1


def test_on_kill_after_the_run_or_before_it_does_nothing(operator, fake_cli):
    op = operator(stdout=[json.dumps({"ok": True, "recordsSent": 1, "files": []})])
    op.on_kill()
    assert op.execute({})["recordsSent"] == 1
    op.on_kill()
