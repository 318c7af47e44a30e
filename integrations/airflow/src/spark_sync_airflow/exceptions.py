"""How a spark-sync run ends badly, as the two exceptions Airflow acts on differently.

Airflow retries a task that raised a plain AirflowException (up to its ``retries``) and fails
one that raised AirflowFailException at once. spark-sync's exit code says which applies: 3 is
"try again later", everything else needs a person. Each exception carries the exit code, the
CLI's error line and its JSON summary, so an ``on_failure_callback`` can read them.
"""

from __future__ import annotations

from typing import Any, Optional

from spark_sync_airflow.compat import AirflowException, AirflowFailException


class _RunOutcome:
    """What both exceptions carry: the exit code, the CLI's error line and its JSON summary."""

    def __init__(
        self,
        message: str,
        *,
        exit_code: Optional[int] = None,
        error_line: Optional[str] = None,
        summary: Optional[dict] = None,
    ):
        super().__init__(message)
        self.exit_code = exit_code
        self.error_line = error_line
        self.summary: Optional[dict[str, Any]] = summary


class SparkSyncRetriableError(_RunOutcome, AirflowException):
    """spark-sync exited with 3: a system was unreachable, the topic's lease held, or the run was
    stopped (SIGTERM). Retrying is safe: the checkpoint resumes where the run stopped."""


class SparkSyncFailedError(_RunOutcome, AirflowFailException):
    """spark-sync failed in a way a retry cannot fix (exit 1, 2, 4, 5, 6, a signal, no summary):
    the task fails without using its retries."""


class SparkSyncConfigError(SparkSyncFailedError):
    """The operator's arguments or its Kafka connection cannot work; raised before spark-sync
    starts. Never carries a secret's value."""
