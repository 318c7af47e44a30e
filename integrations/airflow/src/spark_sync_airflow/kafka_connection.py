"""An Airflow Connection turned into what spark-sync takes: brokers and a client.properties file.

The brokers go on the command line (they are no secret). Everything else, the password above
all, goes into a client.properties file that only the worker's user can read, which spark-sync
reads through ``--kafka-config``. No value of it is ever logged, put on a command line or into
an error message.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from spark_sync_airflow.exceptions import SparkSyncConfigError

# What spark-sync passes on to its Kafka clients (src/config/kafka-client-config.ts, checkKey);
# it refuses anything else, so other keys of a shared connection are left out here instead.
_PASSED_ON = re.compile(
    r"^(security\.protocol$|sasl\.|ssl\.|client\.id$|request\.timeout\.ms$|delivery\.timeout\.ms$"
    r"|max\.request\.size$|connections\.max\.idle\.ms$|reconnect\.backoff|retry\.backoff|socket\."
    r"|metadata\.max\.age\.ms$|client\.dns\.lookup$|compression\.type$|linger\.ms$|batch\.size$)"
)

# librdkafka's names (what the apache-kafka provider's connections hold), read as credentials
# or translated below rather than passed on: Java's Kafka client does not know them.
_CREDENTIAL_KEYS = ("sasl.username", "sasl.password")
_UNSUPPORTED = {
    "ssl.certificate.location": "give ssl.keystore.location (one PEM file holding the key and its "
    "certificate chain) with ssl.keystore.type=PEM instead",
    "ssl.key.location": "give ssl.keystore.location (one PEM file holding the key and its "
    "certificate chain) with ssl.keystore.type=PEM instead",
}

_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


@dataclass(frozen=True)
class KafkaSettings:
    """How to reach Kafka: the brokers, and the client properties (secrets included)."""

    bootstrap_servers: str
    # repr=False: a dataclass repr in a traceback or a log line must not show a password.
    properties: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: Keys of the connection's extra that spark-sync would refuse and that were left out.
    ignored_keys: tuple[str, ...] = ()
    #: Values to hand to Airflow's secrets masker (the password, a JAAS line, key passwords).
    secrets: tuple[str, ...] = field(default=(), repr=False)


def kafka_settings(conn: Any) -> KafkaSettings:
    """Reads an Airflow Connection (``conn_type`` ``kafka`` or any other).

    Brokers: the connection's host (``host:port``, or a comma-separated list, each entry with
    its own port or taking the connection's port), else ``bootstrap.servers`` in its extra
    (where the apache-kafka provider keeps them). Security: ``security.protocol``,
    ``sasl.mechanism``, ``ssl.*`` (Java's names) from the extra; the SASL user and password
    from the connection's login and password (or librdkafka's ``sasl.username`` /
    ``sasl.password`` in the extra), written as a ``sasl.jaas.config`` line; librdkafka's
    ``ssl.ca.location`` becomes a PEM trust store. A ``sasl.jaas.config`` in the extra is used
    as it is.

    Raises SparkSyncConfigError (no retry: the connection must be fixed) for a connection
    without brokers, credentials without a SASL protocol or mechanism, or a setting spark-sync
    cannot take. Messages name the connection and the key, never a value but the brokers'.
    """
    conn_id = getattr(conn, "conn_id", None) or "(unnamed)"
    extra = _extra(conn, conn_id)
    bootstrap = _bootstrap_servers(conn, extra, conn_id)

    properties: dict[str, str] = {}
    ignored = []
    for key, value in extra.items():
        if key == "bootstrap.servers" or key in _CREDENTIAL_KEYS:
            continue
        if key in _UNSUPPORTED:
            raise SparkSyncConfigError(
                f"Kafka connection {conn_id}: extra key {key} is not supported; {_UNSUPPORTED[key]}"
            )
        if key == "ssl.ca.location":
            properties["ssl.truststore.location"] = str(value)
            properties["ssl.truststore.type"] = "PEM"
        elif _PASSED_ON.match(key):
            properties[key] = _text(value)
        else:
            ignored.append(key)
    # librdkafka turns host-name checking off with "none", Java's client with an empty value.
    if properties.get("ssl.endpoint.identification.algorithm", "").lower() == "none":
        properties["ssl.endpoint.identification.algorithm"] = ""
    if "security.protocol" in properties:
        properties["security.protocol"] = properties["security.protocol"].upper()

    secrets: list[str] = []
    username = conn.login or extra.get("sasl.username")
    password = conn.password or extra.get("sasl.password")
    protocol = properties.get("security.protocol", "PLAINTEXT")
    if username or password:
        if "sasl.jaas.config" in properties:
            raise SparkSyncConfigError(
                f"Kafka connection {conn_id} has both a login/password and sasl.jaas.config in its extra; keep one of them"
            )
        if not protocol.startswith("SASL_"):
            raise SparkSyncConfigError(
                f"Kafka connection {conn_id} has a login or password but security.protocol {protocol}; "
                'set "security.protocol": "SASL_SSL" (or SASL_PLAINTEXT) in its extra'
            )
        mechanism = properties.get("sasl.mechanism", "").upper()
        if mechanism not in _LOGIN_MODULES:
            raise SparkSyncConfigError(
                f"Kafka connection {conn_id} needs sasl.mechanism in its extra, one of {', '.join(_LOGIN_MODULES)}"
            )
        properties["sasl.mechanism"] = mechanism
        properties["sasl.jaas.config"] = _jaas_line(mechanism, str(username or ""), str(password or ""), conn_id)
        secrets.append(str(password or ""))
    secrets += [v for k, v in properties.items() if k == "sasl.jaas.config" or "password" in k]
    return KafkaSettings(bootstrap, properties, tuple(sorted(ignored)), tuple(s for s in secrets if s))


def write_client_properties(properties: Mapping[str, str], directory: str) -> str:
    """Writes ``client.properties`` into ``directory``, readable by this user only (0600).

    The file is created with that mode (never briefly readable by others) and must not exist
    yet. Keys and values are escaped as Java's Properties.load reads them; characters beyond
    ASCII as ``\\uXXXX``, which both Java and spark-sync's parser read whatever the encoding.
    """
    path = os.path.join(directory, "client.properties")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        lines = [f"{_escape(key, is_key=True)}={_escape(value, is_key=False)}\n" for key, value in properties.items()]
        os.write(fd, "".join(lines).encode("ascii"))
    finally:
        os.close(fd)
    return path


def _extra(conn: Any, conn_id: str) -> dict:
    try:
        extra = conn.extra_dejson
    except Exception as err:  # a malformed extra: its text may hold a password, so not quoted
        raise SparkSyncConfigError(f"Kafka connection {conn_id}: its extra is not a JSON object") from err
    if not isinstance(extra, dict):
        raise SparkSyncConfigError(f"Kafka connection {conn_id}: its extra is not a JSON object")
    return extra


def _bootstrap_servers(conn: Any, extra: Mapping[str, Any], conn_id: str) -> str:
    if conn.host:
        entries = [e.strip() for e in str(conn.host).split(",") if e.strip()]
        servers = []
        for entry in entries:
            if re.search(r":\d+$", entry):
                servers.append(entry)
            elif conn.port:
                servers.append(f"{entry}:{conn.port}")
            else:
                raise SparkSyncConfigError(
                    f"Kafka connection {conn_id}: broker {entry} has no port; give host:port or set the connection's port"
                )
        return ",".join(servers)
    from_extra = extra.get("bootstrap.servers")
    if from_extra:
        return ",".join(e.strip() for e in str(from_extra).split(",") if e.strip())
    raise SparkSyncConfigError(
        f'Kafka connection {conn_id} names no brokers: set its host (host:port, comma-separated for several) or "bootstrap.servers" in its extra'
    )


def _jaas_line(mechanism: str, username: str, password: str, conn_id: str) -> str:
    # The JAAS grammar (and spark-sync's reader of it) has no escape that both sides agree on,
    # so a quote, a backslash or a control character cannot be written safely.
    for name, value in (("login", username), ("password", password)):
        if any(c in value for c in '"\\') or any(ord(c) < 32 for c in value):
            raise SparkSyncConfigError(
                f"Kafka connection {conn_id}: the {name} holds a double quote, a backslash or a control character, "
                "which a sasl.jaas.config line cannot carry; give sasl.jaas.config in the extra instead"
            )
    return f'{_LOGIN_MODULES[mechanism]} required username="{username}" password="{password}";'


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _escape(text: str, *, is_key: bool) -> str:
    out = []
    for i, c in enumerate(text):
        if c == "\\":
            out.append("\\\\")
        elif c in "\n\r\t\f":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}[c])
        elif is_key and c in " =:#!":
            out.append("\\" + c)
        elif not is_key and i == 0 and c == " ":
            out.append("\\ ")  # a leading space of a value would be dropped
        elif ord(c) > 0x7E or ord(c) < 0x20:
            # Outside the BMP: Java's escapes are UTF-16 code units, so a surrogate pair.
            data = c.encode("utf-16-be")
            out.extend(f"\\u{int.from_bytes(data[j : j + 2], 'big'):04x}" for j in range(0, len(data), 2))
        else:
            out.append(c)
    return "".join(out)
