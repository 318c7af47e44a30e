"""Operators that run the spark-sync CLI: ``SparkSyncOperator`` (submit) and
``SparkSyncVerifyOperator`` (verify)."""

from __future__ import annotations

import json
import logging
import os
import shlex
import tempfile
from datetime import timedelta
from typing import Any, Mapping, Optional, Sequence, Union

from spark_sync_airflow.cli_process import ERROR_LINE_PREFIX, CliProcess, CliResult
from spark_sync_airflow.compat import AirflowSkipException, BaseHook, BaseOperator, mask_secret
from spark_sync_airflow.exceptions import SparkSyncConfigError, SparkSyncRetriableError
from spark_sync_airflow.kafka_connection import kafka_settings, write_client_properties
from spark_sync_airflow.outcome import check_exit, is_idle, parse_summary

StrOrList = Union[str, Sequence[str]]

# Flags that would bypass kafka_conn_id: -X puts a property (a password, say) on a command line
# every user of the machine can read; the others would contradict the connection.
_KAFKA_FLAGS = ("-X", "--kafka-property", "--kafka-config", "--command-config", "--bootstrap-server")

# pino's numeric levels (the CLI's JSON log lines) as Python's.
_PINO_LEVELS = ((50, logging.ERROR), (40, logging.WARNING), (30, logging.INFO))


class _SparkSyncCommandOperator(BaseOperator):
    """What both operators share: the executable, the Kafka connection, Spark settings, the
    child process and its stop. Subclasses name the command and its own flags."""

    command = ""
    template_fields: Sequence[str] = (
        "spark_sync_bin",
        "kafka_conn_id",
        "checkpoint_topic",
        "spark_sync_home",
        "master",
        "conf",
        "extra_args",
        "env",
    )
    template_fields_renderers = {"env": "json", "conf": "json"}

    def __init__(
        self,
        *,
        kafka_conn_id: str = "kafka_default",
        spark_sync_bin: StrOrList = "spark-sync",
        checkpoint_topic: Optional[str] = None,
        spark_sync_home: Optional[str] = None,
        master: Optional[str] = None,
        conf: Optional[Union[Sequence[str], Mapping[str, str]]] = None,
        extra_args: Optional[StrOrList] = None,
        env: Optional[Mapping[str, str]] = None,
        stop_timeout: Union[float, timedelta] = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kafka_conn_id = kafka_conn_id
        self.spark_sync_bin = spark_sync_bin
        self.checkpoint_topic = checkpoint_topic
        self.spark_sync_home = spark_sync_home
        self.master = master
        self.conf = conf
        self.extra_args = extra_args
        self.env = env
        self.stop_timeout = stop_timeout.total_seconds() if isinstance(stop_timeout, timedelta) else float(stop_timeout)
        self._cli: Optional[CliProcess] = None
        self._kill_requested = False

    # -- the command line --------------------------------------------------------------------

    def build_command(self, bootstrap_servers: str, kafka_config: Optional[str] = None) -> list[str]:
        """The full argv, from the rendered fields: never a secret (the connection's settings
        travel in the ``kafka_config`` file). Raises SparkSyncConfigError for arguments that
        cannot work."""
        return self._assemble(self._checked_parts(), bootstrap_servers, kafka_config)

    def _checked_parts(self) -> dict[str, list[str]]:
        """Every argument but Kafka's, checked: called before the connection is read or any
        file written, so a bad argument fails first."""
        executable = _words(self.spark_sync_bin, "spark_sync_bin")
        if not executable:
            raise SparkSyncConfigError(
                "spark_sync_bin is empty: give the spark-sync executable, or e.g. 'node /opt/spark-sync/bin/spark-sync.js'"
            )
        spark = _flag("--checkpoint-topic", self.checkpoint_topic) + _flag("--master", self.master)
        for item in _conf_items(self.conf):
            spark += ["--conf", item]
        extra = _words(self.extra_args, "extra_args")
        for arg in extra:
            if arg.split("=", 1)[0] in _KAFKA_FLAGS or (arg.startswith("-X") and len(arg) > 2):
                raise SparkSyncConfigError(
                    f"extra_args must not hold {arg.split('=', 1)[0][:20]}: Kafka's brokers and settings come from "
                    "kafka_conn_id (its host and extra), so that no secret reaches a command line"
                )
        required, optional = self._command_flags()
        return {"executable": executable, "required": required, "optional": optional, "spark": spark, "extra": extra}

    def _assemble(self, parts: dict[str, list[str]], bootstrap_servers: str, kafka_config: Optional[str]) -> list[str]:
        kafka = ["--bootstrap-server", bootstrap_servers] + (["--kafka-config", kafka_config] if kafka_config else [])
        # The root option first: JSON lines on stderr whatever the worker's terminal. The
        # command's required flags, then Kafka, then the rest, as a person would write it.
        return (
            parts["executable"]
            + ["--log-format", "json", self.command]
            + parts["required"]
            + kafka
            + parts["optional"]
            + parts["spark"]
            + parts["extra"]
        )

    def _command_flags(self) -> tuple[list[str], list[str]]:
        """The command's own flags: the required ones, and the others."""
        raise NotImplementedError

    def _environment(self) -> dict[str, str]:
        # The worker's environment first: the CLI needs its PATH, JAVA_HOME and the like.
        env = dict(os.environ)
        env.update({str(k): str(v) for k, v in (self.env or {}).items()})
        if _present(self.spark_sync_home):
            env["SPARK_SYNC_HOME"] = str(self.spark_sync_home)
        return env

    # -- running ------------------------------------------------------------------------------

    def _run_cli(self, context: Any) -> dict[str, Any]:
        """Runs the command under the connection's settings; returns the summary of a run that
        exited 0, raises (see spark_sync_airflow.outcome) otherwise."""
        self._kill_requested = False
        parts = self._checked_parts()
        conn = BaseHook.get_connection(str(self.kafka_conn_id))
        kafka = kafka_settings(conn)
        for secret in kafka.secrets:
            mask_secret(secret)
        if kafka.ignored_keys:
            self.log.info(
                "Kafka connection %s: extra keys spark-sync does not take, left out: %s",
                self.kafka_conn_id,
                ", ".join(kafka.ignored_keys),
            )
        # 0700, removed afterwards with the properties file in it, whatever happens.
        with tempfile.TemporaryDirectory(prefix="spark-sync-airflow-") as private_dir:
            kafka_config = write_client_properties(kafka.properties, private_dir) if kafka.properties else None
            argv = self._assemble(parts, kafka.bootstrap_servers, kafka_config)
            self.log.info("Running: %s", shlex.join(argv))
            result = self._run_process(argv, self._environment())
        self.log.info("spark-sync exited with code %s after %.1f s", result.returncode, result.seconds)
        return check_exit(self.command, result, parse_summary(result))

    def _run_process(self, argv: list[str], env: Mapping[str, str]) -> CliResult:
        if self._kill_requested:
            # Airflow 3 lets execute go on after on_kill; nothing may start then.
            raise SparkSyncRetriableError("stopped by on_kill before spark-sync started", exit_code=None)
        cli = self._cli = CliProcess(argv, env, self._log_cli_line, abandon_timeout=self.stop_timeout)
        try:
            # on_kill may have come while the process was starting, before it could see it.
            if self._kill_requested:
                self._stop_cli(cli, "on_kill")
            return cli.wait()
        finally:
            # Leaving early (a timeout, an error in this process): stop the CLI as on_kill does,
            # so no spark-sync outlives its task.
            if cli.running:
                self._stop_cli(cli, "execute ended while spark-sync was running")
            self._cli = None

    def on_kill(self) -> None:
        """Stops the CLI as it asks to be stopped: SIGTERM to its process (not its group); it
        cancels its Spark job, releases the topic's lease and exits 3, normally within 30 s.
        Waits up to ``stop_timeout`` seconds (default 60), then SIGKILLs its process group; the
        next run then recovers the batch that was cut off, as after a crash. Before the CLI has
        started, it keeps it from starting."""
        self._kill_requested = True
        cli = self._cli
        if cli is not None and cli.running:
            self._stop_cli(cli, "on_kill")

    def _stop_cli(self, cli: CliProcess, why: str) -> None:
        if cli.stopping:  # another caller sent SIGTERM already: only wait with it
            cli.stop(self.stop_timeout)
            return
        self.log.warning(
            "%s: sending SIGTERM to spark-sync (pid %d), waiting up to %.0f s for it to stop its Spark job and release the topic's lease",
            why,
            cli.pid,
            self.stop_timeout,
        )
        if cli.stop(self.stop_timeout):
            self.log.info("spark-sync (pid %d) stopped with exit code %s", cli.pid, cli.returncode)
        else:
            self.log.error(
                "spark-sync (pid %d) was still running %.0f s after SIGTERM; its process group was SIGKILLed (the next run recovers the cut-off batch)",
                cli.pid,
                self.stop_timeout,
            )

    def _log_cli_line(self, line: str) -> None:
        """A stderr line of the CLI into the task log, at its own level (JSON log lines carry pino's)."""
        level = logging.ERROR if line.startswith(ERROR_LINE_PREFIX) else logging.INFO
        if line.startswith("{"):
            try:
                pino = int(json.loads(line).get("level", 30))
                level = next((py for threshold, py in _PINO_LEVELS if pino >= threshold), logging.DEBUG)
            except (ValueError, TypeError, AttributeError):
                pass
        log = {logging.ERROR: self.log.error, logging.WARNING: self.log.warning, logging.INFO: self.log.info}.get(
            level, self.log.debug
        )
        log("%s", line)


class SparkSyncOperator(_SparkSyncCommandOperator):
    """Syncs a source (a file, a directory of them, an hdfs:// URI or ``hive:db.table``) into a
    Kafka topic exactly once with ``spark-sync submit``.

    Guarantees: every row reaches the topic once, across retries and workers: the checkpoint
    advances only after Kafka acknowledged a batch, and its authoritative copy lives in a Kafka
    topic (spark-sync's default, ``spark-sync-checkpoints``; ``checkpoint_topic`` to choose),
    so a retry on any worker resumes where the last try stopped. No secret is put on the command
    line, into a template field or into the log: the connection's settings reach the CLI in a
    0600 ``client.properties`` file inside a 0700 temporary folder, removed after the run.

    Returns the CLI's JSON summary (``recordsSent``, ``files``, ``seconds``, …), pushed to XCom.

    Failure modes: exit 3 (unreachable, lease held, stopped) raises SparkSyncRetriableError,
    which Airflow retries; exit 1, 2, 4, 6, any other code or a signal raise SparkSyncFailedError
    (an AirflowFailException: failed at once, retries unused) with the CLI's error line. With
    ``skip_when_idle=True``, a run that sent nothing because every file was already synced
    raises AirflowSkipException (no XCom is pushed then).

    :param source: what to sync (templated).
    :param topic: the Kafka topic (templated).
    :param kafka_conn_id: Airflow connection with the brokers (host:port, or a comma-separated
        list; or ``bootstrap.servers`` in the extra) and security settings: ``security.protocol``,
        ``sasl.mechanism``, ``ssl.*`` in the extra, the SASL user and password as login and
        password (templated; default ``kafka_default``).
    :param where, format, batch_size, key_fields, message_key, checkpoint_topic,
        index_location, dead_letter_topic, master: the ``submit`` flags of the same names
        (templated; unset or empty: the CLI's default). ``key_fields`` and ``message_key``
        take a list or a comma-separated string.
    :param conf: Spark settings, ``["k=v", …]`` or a dict (templated).
    :param extra_args: more ``submit`` flags, a list or a shell-quoted string, e.g.
        ``"--create-topic --partitions 6"`` (templated). Kafka flags (``-X``,
        ``--kafka-config``, ``--bootstrap-server``) are refused: they come from the connection.
    :param env: environment variables added to the worker's (templated).
    :param spark_sync_bin: the CLI: ``spark-sync`` on PATH (default), a path, or a command
        such as ``node /opt/spark-sync/bin/spark-sync.js`` (string or list; templated).
    :param spark_sync_home: SPARK_SYNC_HOME for the CLI: where its local checkpoint copy and
        caches live (templated; default: the worker's environment, else ``~/.spark-sync``).
    :param skip_when_idle: skip the task when there was nothing to send (default False).
    :param stop_timeout: seconds ``on_kill`` waits for the CLI after SIGTERM before SIGKILLing
        its process group (default 60; the CLI stops within 30 s).
    """

    command = "submit"
    template_fields: Sequence[str] = (
        "source",
        "topic",
        "where",
        "format",
        "batch_size",
        "key_fields",
        "message_key",
        "index_location",
        "dead_letter_topic",
        *_SparkSyncCommandOperator.template_fields,
    )

    def __init__(
        self,
        *,
        source: str,
        topic: str,
        where: Optional[str] = None,
        format: Optional[str] = None,  # noqa: A002 - the CLI's flag name
        batch_size: Optional[Union[int, str]] = None,
        key_fields: Optional[StrOrList] = None,
        message_key: Optional[StrOrList] = None,
        index_location: Optional[str] = None,
        dead_letter_topic: Optional[str] = None,
        skip_when_idle: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.topic = topic
        self.where = where
        self.format = format
        self.batch_size = batch_size
        self.key_fields = key_fields
        self.message_key = message_key
        self.index_location = index_location
        self.dead_letter_topic = dead_letter_topic
        self.skip_when_idle = skip_when_idle

    def _command_flags(self) -> tuple[list[str], list[str]]:
        required = _required("--source", self.source, "source") + _required("--topic", self.topic, "topic")
        return required, (
            _flag("--where", self.where)
            + _flag("--format", self.format)
            + _flag("--batch-size", self.batch_size)
            + _flag("--key-fields", _commas(self.key_fields))
            + _flag("--message-key", _commas(self.message_key))
            + _flag("--index-location", self.index_location)
            + _flag("--dead-letter-topic", self.dead_letter_topic)
        )

    def execute(self, context: Any) -> dict[str, Any]:
        summary = self._run_cli(context)
        if self.skip_when_idle and is_idle(summary):
            raise AirflowSkipException(
                f"nothing to sync: the {len(summary.get('files') or [])} file(s) of {self.source} were already in {summary.get('topic')}"
            )
        return summary


class SparkSyncVerifyOperator(_SparkSyncCommandOperator):
    """Audits a topic against its sources with ``spark-sync verify --json``: each file's missing,
    duplicated and foreign keys, and records in no file's range (unaccounted).

    Returns the verify summary (pushed to XCom). Exit 5 (the audit found problems) raises
    SparkSyncFailedError with the counts (missing, duplicated, foreign, unaccounted) in its
    message, without retries; exit 3 raises SparkSyncRetriableError (retried); other failures
    as for SparkSyncOperator. Connection, checkpoint and Spark parameters as there.

    :param topic: the topic to audit (templated).
    :param scope: ``range`` (each file against its own offset ranges, the CLI's default) or
        ``topic`` (against every record of the topic; reads the whole topic) (templated).
    """

    command = "verify"
    template_fields: Sequence[str] = ("topic", "scope", *_SparkSyncCommandOperator.template_fields)

    def __init__(self, *, topic: str, scope: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topic = topic
        self.scope = scope

    def _command_flags(self) -> tuple[list[str], list[str]]:
        if _present(self.scope) and str(self.scope) not in ("range", "topic"):
            raise SparkSyncConfigError(f"scope must be range or topic, not {self.scope!r}")
        return _required("--topic", self.topic, "topic"), ["--json"] + _flag("--scope", self.scope)

    def execute(self, context: Any) -> dict[str, Any]:
        return self._run_cli(context)


def _present(value: Any) -> bool:
    """Unset, or rendered empty (a Variable's empty default): leave the CLI's default."""
    return value is not None and str(value).strip() != ""


def _flag(name: str, value: Any) -> list[str]:
    return [name, str(value).strip()] if _present(value) else []


def _required(name: str, value: Any, param: str) -> list[str]:
    if not _present(value):
        raise SparkSyncConfigError(f"{param} is empty after rendering; it is required")
    return _flag(name, value)


def _commas(value: Optional[StrOrList]) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    return ",".join(str(v).strip() for v in value)


def _words(value: Optional[StrOrList], param: str) -> list[str]:
    """A list as it is; a string split as a shell would (quotes kept together), no shell run."""
    if value is None:
        return []
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as err:
            raise SparkSyncConfigError(f"{param} is not a valid shell-quoted string: {err}") from err
    return [str(v) for v in value]


def _conf_items(conf: Any) -> list[str]:
    if not conf:
        return []
    if isinstance(conf, Mapping):
        return [f"{k}={v}" for k, v in conf.items()]
    if isinstance(conf, str):
        raise SparkSyncConfigError('conf takes a list of "key=value" strings or a dict, not one string')
    return [str(c) for c in conf]
