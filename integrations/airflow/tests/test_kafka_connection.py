"""An Airflow Connection into brokers and client properties; refusals never quote a secret."""

from __future__ import annotations

import os
import stat

import pytest

from spark_sync_airflow import SparkSyncConfigError
from spark_sync_airflow.compat import BaseHook
from spark_sync_airflow.kafka_connection import kafka_settings, write_client_properties

PASSWORD = "pa55-w0rd"


def conn(kafka_conn, **fields):
    """A real Connection, as Airflow's env-var backend returns it."""
    return BaseHook.get_connection(kafka_conn(**fields))


@pytest.mark.parametrize(
    "fields, brokers",
    [
        ({"host": "k1", "port": 9092}, "k1:9092"),
        ({"host": "k1:9093, k2 ,k3", "port": 9092}, "k1:9093,k2:9092,k3:9092"),
        ({"host": "k1:9093,k2:9094"}, "k1:9093,k2:9094"),
        ({"extra": {"bootstrap.servers": "k1:9092, k2:9092"}}, "k1:9092,k2:9092"),
    ],
)
def test_brokers_from_host_and_port_or_the_extra(kafka_conn, fields, brokers):
    settings = kafka_settings(conn(kafka_conn, **fields))
    assert settings.bootstrap_servers == brokers
    assert dict(settings.properties) == {}


def test_no_brokers_or_no_port_is_a_config_error(kafka_conn):
    with pytest.raises(SparkSyncConfigError, match="names no brokers"):
        kafka_settings(conn(kafka_conn, extra={"security.protocol": "SSL"}))
    with pytest.raises(SparkSyncConfigError, match="broker k2 has no port"):
        kafka_settings(conn(kafka_conn, host="k1:9092,k2"))


@pytest.mark.parametrize(
    "mechanism, module",
    [
        ("PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule"),
        ("scram-sha-256", "org.apache.kafka.common.security.scram.ScramLoginModule"),
        ("SCRAM-SHA-512", "org.apache.kafka.common.security.scram.ScramLoginModule"),
    ],
)
def test_login_and_password_become_a_jaas_line(kafka_conn, mechanism, module):
    settings = kafka_settings(
        conn(
            kafka_conn,
            host="k:9093",
            login="sync",
            password=PASSWORD,
            extra={"security.protocol": "sasl_ssl", "sasl.mechanism": mechanism},
        )
    )
    assert dict(settings.properties) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": mechanism.upper(),
        "sasl.jaas.config": f'{module} required username="sync" password="{PASSWORD}";',
    }
    assert PASSWORD in settings.secrets
    assert PASSWORD not in repr(settings)


def test_librdkafka_names_of_the_kafka_provider_are_understood(kafka_conn):
    # What an apache-kafka provider connection holds: everything in the extra, librdkafka's names.
    settings = kafka_settings(
        conn(
            kafka_conn,
            extra={
                "bootstrap.servers": "k:9093",
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": "PLAIN",
                "sasl.username": "sync",
                "sasl.password": PASSWORD,
                "ssl.ca.location": "/etc/ssl/ca.pem",
                "ssl.endpoint.identification.algorithm": "none",
                "group.id": "g",
                "auto.offset.reset": "earliest",
            },
        )
    )
    assert settings.bootstrap_servers == "k:9093"
    assert settings.properties["ssl.truststore.location"] == "/etc/ssl/ca.pem"
    assert settings.properties["ssl.truststore.type"] == "PEM"
    assert settings.properties["ssl.endpoint.identification.algorithm"] == ""
    assert 'username="sync"' in settings.properties["sasl.jaas.config"]
    assert not {"sasl.username", "sasl.password", "group.id", "auto.offset.reset", "bootstrap.servers"} & set(
        settings.properties
    )
    assert settings.ignored_keys == ("auto.offset.reset", "group.id")


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"login": "u", "password": PASSWORD}, "security.protocol PLAINTEXT"),
        ({"login": "u", "password": PASSWORD, "extra": {"security.protocol": "SASL_SSL"}}, "needs sasl.mechanism"),
        (
            {
                "login": "u",
                "password": 'pa"55-w0rd',
                "extra": {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"},
            },
            "double quote",
        ),
        (
            {
                "login": "u",
                "password": PASSWORD,
                "extra": {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas.config": "x"},
            },
            "keep one of them",
        ),
        ({"extra": {"ssl.certificate.location": "/c.pem"}}, "ssl.keystore.location"),
    ],
)
def test_settings_that_cannot_work_are_refused_without_the_password(kafka_conn, fields, message):
    with pytest.raises(SparkSyncConfigError) as err:
        kafka_settings(conn(kafka_conn, host="k:9092", **fields))
    assert message in str(err.value)
    assert "55-w0rd" not in str(err.value)


def test_properties_file_is_0600_and_escaped_as_java_reads_it(tmp_path):
    old = os.umask(0)  # even a permissive umask must not widen it
    try:
        path = write_client_properties(
            {
                "sasl.jaas.config": 'M required username="u" password="a\\b c=d:é";',
                "ssl.key.password": " lead",
                "client.id": "id#1\n",
            },
            str(tmp_path),
        )
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert open(path, encoding="ascii").read().splitlines() == [
        'sasl.jaas.config=M required username="u" password="a\\\\b c=d:\\u00e9";',
        "ssl.key.password=\\ lead",
        "client.id=id#1\\n",
    ]
    with pytest.raises(FileExistsError):  # never written over, never through a planted link
        write_client_properties({"a": "b"}, str(tmp_path))
