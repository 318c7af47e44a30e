"""Shared fixtures: a private AIRFLOW_HOME, Kafka connections, and a stand-in for the CLI.

The stand-in (``fake_cli``) is a test double for the spark-sync process only: a small Python
script that records its argv, environment and --kafka-config file, prints the stdout and stderr
lines it is given and exits with the given code, or traps SIGTERM as the CLI does. The real CLI
with Kafka and Spark is exercised by scripts/check-airflow.sh.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

# Before Airflow is imported: its configuration and logs go to a folder of this run.
if "AIRFLOW_HOME" not in os.environ:
    _home = tempfile.mkdtemp(prefix="spark-sync-airflow-home-")
    os.environ["AIRFLOW_HOME"] = _home
    atexit.register(shutil.rmtree, _home, True)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import pytest  # noqa: E402

FAKE_CLI = textwrap.dedent(
    """\
    import json, os, signal, subprocess, sys, time

    plan = json.load(open(os.environ["FAKE_SPARK_SYNC_PLAN"]))
    argv = sys.argv[1:]
    record = {"argv": argv, "pid": os.getpid(), "pgid": os.getpgid(0),
              "env": {k: os.environ.get(k) for k in plan.get("env_keys", [])}}
    if "--kafka-config" in argv:
        path = argv[argv.index("--kafka-config") + 1]
        record["kafka_config"] = {"path": path, "mode": os.stat(path).st_mode & 0o777,
                                  "dir_mode": os.stat(os.path.dirname(path)).st_mode & 0o777,
                                  "text": open(path, encoding="ascii").read()}
    if plan.get("grandchild"):
        # Started in the CLI's process group, holding none of its pipes.
        child = subprocess.Popen(["sleep", "120"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        record["grandchild"] = child.pid

    def write_record():
        with open(plan["record"] + ".tmp", "w") as f:
            json.dump(record, f)
        os.replace(plan["record"] + ".tmp", plan["record"])

    def emit(stderr, stdout):
        for line in stderr:
            print(line, file=sys.stderr, flush=True)
        for line in stdout:
            print(line, flush=True)

    if plan.get("on_sigterm") == "exit":
        def on_term(signum, frame):
            record["sigterm"] = record.get("sigterm", 0) + 1
            write_record()
            time.sleep(plan.get("stop_seconds", 0.2))
            emit(plan.get("stderr_on_term", []), plan.get("stdout_on_term", []))
            sys.exit(plan.get("exit", 3))
        signal.signal(signal.SIGTERM, on_term)
    elif plan.get("on_sigterm") == "ignore":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    write_record()
    emit(plan.get("stderr", []), plan.get("stdout", []))
    if plan.get("on_sigterm"):
        open(plan["ready"], "w").close()
        deadline = time.time() + 60
        while time.time() < deadline:
            time.sleep(0.05)
    if plan.get("kill_self"):
        os.kill(os.getpid(), signal.SIGKILL)
    sys.exit(plan.get("exit", 0))
    """
)


class FakeCli:
    """One stand-in executable and its plan; ``record()`` is what the last run saw."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.script = directory / "fake-spark-sync"
        self.script.write_text(f"#!{sys.executable}\n{FAKE_CLI}")
        self.script.chmod(0o755)
        self.plan_file = directory / "plan.json"
        self.record_file = directory / "record.json"
        self.ready_file = directory / "ready"
        self.pids: list[int] = []

    def plan(self, **plan) -> dict:
        """Operator kwargs that run the stand-in with this plan (stdout, stderr, exit, on_sigterm…)."""
        plan.setdefault("record", str(self.record_file))
        plan.setdefault("ready", str(self.ready_file))
        self.plan_file.write_text(json.dumps(plan))
        return {"spark_sync_bin": str(self.script), "env": {"FAKE_SPARK_SYNC_PLAN": str(self.plan_file)}}

    def record(self) -> dict:
        data = json.loads(self.record_file.read_text())
        self.pids += [data["pid"]] + ([data["grandchild"]] if "grandchild" in data else [])
        return data

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready_file.exists():
            assert time.monotonic() < deadline, "the stand-in CLI never got ready"
            time.sleep(0.02)


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent that is not ours to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def kill_and_wait(pid: int, timeout: float = 5) -> None:
    os.kill(pid, 9)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def fake_cli(tmp_path):
    """A stand-in CLI; the test fails if a process it started is still running afterwards."""
    cli = FakeCli(tmp_path)
    yield cli
    if cli.record_file.exists():
        cli.record()
    left = [pid for pid in set(cli.pids) if alive(pid)]
    for pid in left:
        kill_and_wait(pid)
    assert not left, f"processes left behind: {left}"


@pytest.fixture
def kafka_conn(monkeypatch):
    """Defines an Airflow Connection through Airflow's env-var backend; returns its id."""
    counter = iter(range(1000))

    def define(**fields) -> str:
        conn_id = f"spark_sync_test_{next(counter)}"
        fields.setdefault("conn_type", "kafka")
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))
        return conn_id

    return define


SUMMARY = {
    "command": "submit",
    "ok": True,
    "topic": "events",
    "checkpoint": "/var/lib/spark-sync/checkpoint.db",
    "files": [
        {"file": "day-1.parquet", "status": "COMPLETED", "totalRecords": 1000, "recordsSent": 1000, "batches": 1}
    ],
    "recordsSent": 1000,
    "duplicates": 0,
    "replayed": 0,
    "seconds": 12.5,
    "recordsPerSecond": 80,
}
