"""spark-sync's exit codes (README, "For schedulers") mapped to what Airflow should do.

| exit | task |
| --- | --- |
| 0 | success; the JSON summary is the return value (XCom) |
| 0, ``submit`` with nothing to send, ``skip_when_idle=True`` | skipped (AirflowSkipException) |
| 3 | failed and retried (SparkSyncRetriableError, an AirflowException) |
| 1, 2, 4, 5, 6, any other code, a signal | failed at once, retries unused (SparkSyncFailedError, an AirflowFailException) |
"""

from __future__ import annotations

import json
import signal
from typing import Any, Optional

from spark_sync_airflow.cli_process import CliResult
from spark_sync_airflow.exceptions import SparkSyncFailedError, SparkSyncRetriableError

EXIT_MEANINGS = {
    0: "done",
    1: "internal error",
    2: "bad usage, configuration or input",
    3: "unreachable, timed out, lease held or interrupted: safe to retry",
    4: "consistency violation: a person must look",
    5: "verify found missing, duplicated, foreign or unaccounted records",
    6: "the checkpoint's disk is full",
}
RETRIABLE_EXIT_CODES = frozenset({3})
VERIFY_FAILED = 5


def parse_summary(result: CliResult) -> Optional[dict[str, Any]]:
    """The CLI's last stdout line as a JSON object, or None when it printed none."""
    if not result.last_stdout_line:
        return None
    try:
        summary = json.loads(result.last_stdout_line)
    except ValueError:
        return None
    return summary if isinstance(summary, dict) else None


def check_exit(command: str, result: CliResult, summary: Optional[dict[str, Any]]) -> dict[str, Any]:
    """Returns the summary of a successful run; raises what Airflow should act on otherwise."""
    code = result.returncode
    if code == 0:
        if summary is None:
            raise SparkSyncFailedError(
                f"spark-sync {command} exited with 0 but printed no JSON summary as its last stdout line; "
                "is the executable spark-sync?",
                exit_code=0,
            )
        return summary
    if code == -signal.SIGTERM and result.stopped:
        # Our own stop reached the CLI before it could handle SIGTERM: it had done nothing yet.
        raise SparkSyncRetriableError(
            f"spark-sync {command} was stopped by on_kill before it could handle SIGTERM; retried",
            exit_code=code,
            error_line=result.error_line,
            summary=summary,
        )
    if code < 0:
        name = _signal_name(-code)
        raise SparkSyncFailedError(
            f"spark-sync {command} was ended by {name}{' after it outlived on_kill' if result.killed else ''}; not retried",
            exit_code=code,
            error_line=result.error_line,
            summary=summary,
        )
    detail = result.error_line or _summary_error(summary) or "no error line; see the task log"
    if command == "verify" and code == VERIFY_FAILED and summary is not None:
        detail = verify_counts(summary)
    meaning = EXIT_MEANINGS.get(code, "unexpected exit code")
    if code in RETRIABLE_EXIT_CODES:
        why = "stopped by on_kill" if result.stopped else "retried"
        raise SparkSyncRetriableError(
            f"spark-sync exited with {code} ({meaning}; {why}): {detail}",
            exit_code=code,
            error_line=result.error_line,
            summary=summary,
        )
    raise SparkSyncFailedError(
        f"spark-sync exited with {code} ({meaning}; not retried): {detail}",
        exit_code=code,
        error_line=result.error_line,
        summary=summary,
    )


def is_idle(summary: dict[str, Any]) -> bool:
    """A submit that sent nothing: no records, and every file already synced (SKIPPED)."""
    files = summary.get("files") or []
    return summary.get("recordsSent") == 0 and all(f.get("status") == "SKIPPED" for f in files)


def verify_counts(summary: dict[str, Any]) -> str:
    """``verify``'s findings in one line: missing, duplicated, foreign and unaccounted records,
    over every file and every natural-key group, and the files that are not clean."""
    groups = list(summary.get("files") or []) + list(summary.get("naturalKeys") or [])
    totals = {k: sum(int(g.get(k) or 0) for g in groups) for k in ("missing", "duplicated", "foreign")}
    unaccounted = int(summary.get("unaccounted") or 0)
    dirty = [f.get("file") for f in summary.get("files") or [] if not f.get("clean", True)]
    where = f" in {', '.join(str(f) for f in dirty[:5])}{' …' if len(dirty) > 5 else ''}" if dirty else ""
    return (
        f"topic {summary.get('topic')}: {totals['missing']} missing, {totals['duplicated']} duplicated, "
        f"{totals['foreign']} foreign, {unaccounted} unaccounted{where}"
    )


def _summary_error(summary: Optional[dict[str, Any]]) -> Optional[str]:
    error = (summary or {}).get("error")
    if isinstance(error, dict) and error.get("message"):
        return f"[{error.get('code')}] {error['message']}"
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
