"""Sync a data file (or a directory of them) into Kafka with spark-sync, exactly once.

Written for and tested with Apache Airflow 2.10.5 (scripts/check-airflow.sh).

Each setting is an Airflow Variable, read when the task runs, not when the file is parsed.
Set it in the UI, with `airflow variables set`, or as the environment variable
AIRFLOW_VAR_<NAME>, e.g. AIRFLOW_VAR_SPARK_SYNC_SOURCE (Airflow's own env-var backend):

    spark_sync_bin               the CLI                                 spark-sync
    spark_sync_source            file, directory, hdfs:// URI or hive:   /data/events
    spark_sync_topic             Kafka topic                             events
    spark_sync_bootstrap_server  Kafka brokers                           127.0.0.1:9092
    spark_sync_checkpoint        SQLite checkpoint; empty = the CLI's    (empty)
                                 default, $SPARK_SYNC_HOME/checkpoint.db
    spark_sync_extra_args        more submit flags, e.g.                 (empty)
                                 "--create-topic --partitions 6"

Retries are operator arguments, fixed when the file is parsed, so they come from the
environment instead (a top-level Variable.get would query the database at every parse):
SPARK_SYNC_DAG_RETRIES (default 3) and SPARK_SYNC_DAG_RETRY_DELAY_SECONDS (default 300).

The CLI keeps its logs on stderr and prints a one-line JSON summary last on stdout; the
BashOperator pushes that last line to XCom (key return_value).
"""

from __future__ import annotations

import os
import shlex
from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from airflow.operators.bash import BashOperator

# spark-sync's exit codes (README, "For schedulers"). Only 3 means "try again later".
EXIT_CODES = {
    1: "internal error",
    2: "bad usage, config or input",
    3: "Kafka, HDFS or another system unreachable, or the topic's lease held: safe to retry",
    4: "consistency violation: a person must look",
    5: "verify found missing or duplicated records",
}
RETRYABLE_EXIT_CODES = frozenset({3})


class SparkSyncBashOperator(BashOperator):
    """A BashOperator whose failure is retried only when the command exited with 3.

    In Airflow 2.10, BashOperator.execute turns every non-zero exit into a plain
    AirflowException, and Airflow retries any such failure up to `retries`. Retrying an exit 4
    (say, the source file changed after it was synced) or an exit 2 (a missing file) cannot
    help and only delays the alert. AirflowFailException is Airflow's way to fail a task
    without retries (TaskInstance.handle_failure(force_fail=True)), so this subclass runs the
    command exactly as BashOperator does and, on failure, reads the exit code from the
    subprocess hook BashOperator used: 3 is re-raised unchanged (retried), anything else
    (1, 2, 4, 5, a signal, or no process at all) becomes AirflowFailException. An
    execution_timeout or a kill is not an AirflowException and keeps Airflow's usual rules.

    Airflow 2.10 logs a false "SparkSyncBashOperator.execute cannot be called outside
    TaskInstance!" warning whenever a subclass calls super().execute() (apache/airflow#47511);
    it is harmless.
    """

    def execute(self, context):
        try:
            return super().execute(context)
        except (AirflowSkipException, AirflowFailException):
            raise  # both subclass AirflowException; pass them through untouched
        except AirflowException as err:
            process = self.subprocess_hook.sub_process
            code = process.returncode if process is not None else None
            if code in RETRYABLE_EXIT_CODES:
                raise
            meaning = EXIT_CODES.get(code, "unexpected exit")
            raise AirflowFailException(f"spark-sync exited with {code} ({meaning}); not retried") from err


def setting(name: str, default: str, jinja_filter: str = "sh") -> str:
    """Jinja that renders Variable spark_sync_<name> (else `default`), quoted for bash."""
    # %-formatting, because str.format and f-strings would need every Jinja brace doubled.
    return "{{ var.value.get('spark_sync_%s', %r) | %s }}" % (name, default, jinja_filter)


def optional_flag(value: str, flag: str) -> str:
    """`--flag 'value'`, or nothing when the value is empty (so the CLI's default applies)."""
    return f"{flag} {shlex.quote(value)}" if value else ""


def shell_args(value: str) -> str:
    """Split a string of flags as a shell would, then quote each: flags only, no shell syntax."""
    return " ".join(shlex.quote(arg) for arg in shlex.split(value))


# Every value passes through a quoting filter, so a Variable cannot inject shell code, and the
# "Rendered Template" view shows the exact command that ran.
SUBMIT_COMMAND = " ".join(
    [
        setting("bin", "spark-sync"),
        "submit",
        "--source",
        setting("source", "/data/events"),
        "--topic",
        setting("topic", "events"),
        "--bootstrap-server",
        setting("bootstrap_server", "127.0.0.1:9092"),
        # Never a relative path: a BashOperator runs in a temporary directory that is deleted
        # afterwards, and a lost checkpoint means a full resend.
        setting("checkpoint", "", "optional_flag('--checkpoint')"),
        setting("extra_args", "", "shell_args"),
    ]
)

with DAG(
    dag_id="spark_sync",
    description="Sync data files into Kafka exactly once with spark-sync",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    # One sync per topic at a time; a second one would only wait for the writer lease (exit 3).
    max_active_runs=1,
    user_defined_filters={"sh": shlex.quote, "optional_flag": optional_flag, "shell_args": shell_args},
    default_args={
        "retries": int(os.environ.get("SPARK_SYNC_DAG_RETRIES", "3")),
        "retry_delay": timedelta(seconds=float(os.environ.get("SPARK_SYNC_DAG_RETRY_DELAY_SECONDS", "300"))),
    },
    tags=["spark-sync", "kafka"],
    doc_md=__doc__,
) as dag:
    # A retry is safe: the checkpoint advances only after Kafka acknowledged a batch, so a rerun
    # continues where the last one stopped and never sends a record twice. SIGTERM (on_kill,
    # a timeout) stops spark-sync at the next batch boundary.
    SparkSyncBashOperator(task_id="submit", bash_command=SUBMIT_COMMAND)
