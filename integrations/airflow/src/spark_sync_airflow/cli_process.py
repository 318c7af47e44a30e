"""One run of the spark-sync CLI as a child process this package owns.

The CLI runs in a process group of its own (a new session), so the task's process group is
never signalled by it, and a last-resort SIGKILL reaches everything it started and nothing else.
Three threads do the waiting: one reaps the process, and one each drains stdout and stderr.
That keeps the pipes flowing while ``stop`` runs from a signal handler on the main thread
(Airflow calls ``on_kill`` there), and means nothing but the reaper ever calls ``waitpid``:
Popen's own ``wait``/``poll`` share a lock that a signal handler could find held.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

#: The CLI's one error line on stderr (README, "Errors print one line").
ERROR_LINE_PREFIX = "spark-sync: error ["

# After the CLI exits, how long its pipes may stay open: only a process it left behind in its
# group can hold them that long, and that one is then killed.
_PIPE_DRAIN_SECONDS = 5.0


@dataclass
class CliResult:
    """How a run ended. ``returncode`` is negative (-N) when signal N ended it."""

    returncode: int
    #: The last non-empty stdout line: the CLI's JSON summary, when it printed one.
    last_stdout_line: Optional[str]
    #: The last ``spark-sync: error [CODE]: …`` line of stderr, if any.
    error_line: Optional[str]
    seconds: float
    #: Whether ``stop`` was called before the process ended.
    stopped: bool = False
    #: Whether it outlived ``stop``'s grace period and its group was SIGKILLed.
    killed: bool = False


class CliProcess:
    """Starts the CLI at once; ``wait`` for its end, ``stop`` to end it early.

    ``on_stderr_line`` is called from a reader thread with each stderr line (without its line
    break), in order. The environment is used as given: callers pass the whole of it. If the
    constructor itself is interrupted once the process exists, it stops the process as ``stop``
    would (waiting up to ``abandon_timeout``) before the exception goes on.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        on_stderr_line: Callable[[str], None],
        cwd: Optional[str] = None,
        abandon_timeout: float = 60.0,
    ):
        self._started = time.monotonic()
        self._proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        self.pid = self._proc.pid
        try:
            self._setup(on_stderr_line)
        except BaseException:
            # Interrupted before anything watches the process (an exception raised by a signal
            # handler, say): end it here, or it would run on, unowned.
            self._abandon(abandon_timeout)
            raise

    def _setup(self, on_stderr_line: Callable[[str], None]) -> None:
        self._exited = threading.Event()
        # Reentrant: stop() may run in a signal handler that interrupted stop() on the same thread.
        self._lock = threading.RLock()
        self._stopped = False
        self._killed = False
        self._last_stdout: Optional[str] = None
        self._error_line: Optional[str] = None
        self._on_stderr_line = on_stderr_line
        self._threads = [
            threading.Thread(target=self._reap, name=f"spark-sync-{self.pid}-reaper", daemon=True),
            threading.Thread(target=self._read_stdout, name=f"spark-sync-{self.pid}-stdout", daemon=True),
            threading.Thread(target=self._read_stderr, name=f"spark-sync-{self.pid}-stderr", daemon=True),
        ]
        for t in self._threads:
            t.start()

    @property
    def running(self) -> bool:
        return not self._exited.is_set()

    @property
    def returncode(self) -> Optional[int]:
        """The exit code once it has exited (-N for signal N), else None."""
        return self._proc.returncode if self._exited.is_set() else None

    @property
    def stopping(self) -> bool:
        """``stop`` was called (its SIGTERM sent) while the process ran."""
        return self._stopped

    def wait(self) -> CliResult:
        """Blocks until the CLI has exited and its output is read. Signals still reach the
        calling thread's handlers meanwhile (it waits in short slices)."""
        while not self._exited.wait(0.5):
            pass
        readers = self._threads[1:]
        deadline = time.monotonic() + _PIPE_DRAIN_SECONDS
        for t in readers:
            t.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in readers):
            # Something the CLI started still holds its pipes, so its group still exists (and
            # its id cannot have been reused): end it rather than leave it behind.
            self._kill_group()
        return CliResult(
            returncode=self._proc.returncode,
            last_stdout_line=self._last_stdout,
            error_line=self._error_line,
            seconds=time.monotonic() - self._started,
            stopped=self._stopped,
            killed=self._killed,
        )

    def stop(self, timeout: float) -> bool:
        """Sends SIGTERM to the CLI's process only (it cancels its Spark job, releases the topic's
        lease and exits 3 on its own; its JVM lives inside it) and waits up to ``timeout``
        seconds. If it is still running then, SIGKILLs its whole process group. Returns whether
        it exited within ``timeout``. Safe to call from a signal handler, again while a stop is
        under way (it then only waits), or after the process has ended (it does nothing)."""
        with self._lock:
            if self._exited.is_set():
                return True
            # One SIGTERM only: the CLI takes a second signal as "exit at once", cutting the
            # batch off instead of stopping it cleanly.
            first = not self._stopped
            self._stopped = True
            if first:
                try:
                    os.kill(self.pid, signal.SIGTERM)
                except ProcessLookupError:
                    return True
        if self._exited.wait(timeout):
            return True
        self._kill_group()
        self._exited.wait(10)
        return False

    def _abandon(self, timeout: float) -> None:
        # No reaper thread exists yet, so Popen's own wait is safe to use here.
        try:
            self._proc.send_signal(signal.SIGTERM)
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill_group()
            self._proc.wait()
        except BaseException:
            self._kill_group()
            raise

    def _kill_group(self) -> None:
        self._killed = True
        try:
            os.killpg(self.pid, signal.SIGKILL)  # the session leader's pid is its group's id
        except (ProcessLookupError, PermissionError):
            pass

    def _reap(self) -> None:
        self._proc.wait()
        self._exited.set()

    def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.decode("utf-8", errors="replace").strip()
            if line:
                self._last_stdout = line

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if line.startswith(ERROR_LINE_PREFIX):
                self._error_line = line
            try:
                self._on_stderr_line(line)
            except Exception:  # a logging failure must not stop the draining, or the CLI blocks
                pass
