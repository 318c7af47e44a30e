"""The command line each operator builds, and what reaches the CLI: flags, the properties file
(0600, in a private folder removed afterwards) and no secret on argv or in the task log."""

from __future__ import annotations

import json
import os

import pytest

from conftest import SUMMARY
from spark_sync_airflow import SparkSyncConfigError, SparkSyncOperator, SparkSyncVerifyOperator

PASSWORD = "s3cr3t-P@ss word"


def submit(**kwargs):
    kwargs.setdefault("task_id", "submit")
    kwargs.setdefault("source", "/data/events")
    kwargs.setdefault("topic", "events")
    return SparkSyncOperator(**kwargs)


def test_submit_command_carries_every_setting_in_order():
    op = submit(
        where="dt = '2024-01-15'",
        format="parquet",
        batch_size=500000,
        key_fields=["user", "event", "ts"],
        message_key="user",
        checkpoint_topic="ops.spark-sync-checkpoints",
        index_location="hdfs://nn:8020/spark-sync/index",
        dead_letter_topic="events.dlq",
        master="spark://master:7077",
        conf=["spark.executor.memory=4g", "spark.cores.max=16"],
        extra_args="--create-topic --partitions 6 --csv-delimiter ';'",
    )
    assert op.build_command("k1:9092,k2:9092", "/tmp/x/client.properties") == [
        "spark-sync",
        "--log-format",
        "json",
        "submit",
        "--source",
        "/data/events",
        "--topic",
        "events",
        "--bootstrap-server",
        "k1:9092,k2:9092",
        "--kafka-config",
        "/tmp/x/client.properties",
        "--where",
        "dt = '2024-01-15'",
        "--format",
        "parquet",
        "--batch-size",
        "500000",
        "--key-fields",
        "user,event,ts",
        "--message-key",
        "user",
        "--index-location",
        "hdfs://nn:8020/spark-sync/index",
        "--dead-letter-topic",
        "events.dlq",
        "--checkpoint-topic",
        "ops.spark-sync-checkpoints",
        "--master",
        "spark://master:7077",
        "--conf",
        "spark.executor.memory=4g",
        "--conf",
        "spark.cores.max=16",
        "--create-topic",
        "--partitions",
        "6",
        "--csv-delimiter",
        ";",
    ]


def test_unset_and_rendered_empty_settings_leave_the_clis_defaults():
    # What a Variable with an empty default renders to: the flag is left out, not passed empty.
    op = submit(where="", format=None, batch_size=" ", checkpoint_topic="", extra_args="", conf=[])
    assert op.build_command("k:9092") == [
        "spark-sync",
        "--log-format",
        "json",
        "submit",
        "--source",
        "/data/events",
        "--topic",
        "events",
        "--bootstrap-server",
        "k:9092",
    ]


@pytest.mark.parametrize(
    "spark_sync_bin, expected",
    [
        ("spark-sync", ["spark-sync"]),
        ("node /opt/spark sync/bin/spark-sync.js", ["node", "/opt/spark", "sync/bin/spark-sync.js"]),
        ("node '/opt/spark sync/bin/spark-sync.js'", ["node", "/opt/spark sync/bin/spark-sync.js"]),
        (["node", "/opt/spark sync/bin/spark-sync.js"], ["node", "/opt/spark sync/bin/spark-sync.js"]),
    ],
)
def test_the_executable_is_a_word_list_or_a_shell_quoted_string(spark_sync_bin, expected):
    argv = submit(spark_sync_bin=spark_sync_bin).build_command("k:9092")
    assert argv[: len(expected) + 1] == expected + ["--log-format"]


@pytest.mark.parametrize(
    "extra",
    [
        "-X sasl.jaas.config=hunter2",
        "-Xsasl.password=hunter2",
        "--kafka-property ssl.key.password=hunter2",
        "--bootstrap-server=other:9092",
        "--kafka-config /etc/c.properties",
    ],
)
def test_kafka_flags_in_extra_args_are_refused_without_echoing_their_values(extra):
    with pytest.raises(SparkSyncConfigError) as err:
        submit(extra_args=extra).build_command("k:9092")
    assert "come from kafka_conn_id" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_required_settings_rendered_empty_fail_before_anything_runs():
    with pytest.raises(SparkSyncConfigError, match="source is empty"):
        submit(source="  ").build_command("k:9092")


def test_verify_command():
    op = SparkSyncVerifyOperator(
        task_id="verify", topic="events", scope="topic", checkpoint_topic="cp", conf={"spark.ui.enabled": "false"}
    )
    assert op.build_command("k:9092", "/tmp/p") == [
        "spark-sync",
        "--log-format",
        "json",
        "verify",
        "--topic",
        "events",
        "--bootstrap-server",
        "k:9092",
        "--kafka-config",
        "/tmp/p",
        "--json",
        "--scope",
        "topic",
        "--checkpoint-topic",
        "cp",
        "--conf",
        "spark.ui.enabled=false",
    ]
    with pytest.raises(SparkSyncConfigError, match="scope must be range or topic"):
        SparkSyncVerifyOperator(task_id="v", topic="t", scope="all").build_command("k:9092")


def test_template_fields_hold_the_settings_and_no_secret():
    assert set(SparkSyncOperator.template_fields) >= {
        "source",
        "topic",
        "where",
        "format",
        "batch_size",
        "key_fields",
        "message_key",
        "checkpoint_topic",
        "index_location",
        "dead_letter_topic",
        "master",
        "conf",
        "extra_args",
        "env",
    }
    assert set(SparkSyncVerifyOperator.template_fields) >= {"topic", "scope", "conf", "extra_args", "env"}
    for fields in (SparkSyncOperator.template_fields, SparkSyncVerifyOperator.template_fields):
        assert not [f for f in fields if "password" in f or "secret" in f or "properties" in f]


def test_a_sasl_connection_reaches_the_cli_in_a_private_file_and_nowhere_else(fake_cli, kafka_conn, capfd):
    conn_id = kafka_conn(
        host="k1:9093,k2",
        port=9094,
        login="sync",
        password=PASSWORD,
        extra={
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "ssl.ca.location": "/etc/ssl/kafka-ca.pem",
            "group.id": "consumers-of-another-hook",
        },
    )
    plan = fake_cli.plan(
        stdout=[json.dumps(SUMMARY)],
        stderr=['{"level":30,"time":"2024-01-15T00:00:00.000Z","msg":"planned 1 file(s)"}'],
        env_keys=["SPARK_SYNC_HOME"],
    )
    op = submit(kafka_conn_id=conn_id, spark_sync_home="/var/lib/spark-sync", **plan)
    assert op.execute({}) == SUMMARY

    seen = fake_cli.record()
    argv = seen["argv"]
    assert argv[argv.index("--bootstrap-server") + 1] == "k1:9093,k2:9094"
    assert not [a for a in argv if PASSWORD in a or "jaas" in a or a.startswith("-X")]
    assert seen["env"]["SPARK_SYNC_HOME"] == "/var/lib/spark-sync"

    props = seen["kafka_config"]
    assert props["mode"] == 0o600 and props["dir_mode"] == 0o700
    assert props["text"].splitlines() == [
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-512",
        "ssl.truststore.location=/etc/ssl/kafka-ca.pem",
        "ssl.truststore.type=PEM",
        f'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="sync" password="{PASSWORD}";',
    ]
    assert not os.path.exists(os.path.dirname(props["path"])), "the properties file's folder outlived the run"

    logs = capfd.readouterr()
    assert "planned 1 file(s)" in logs.out + logs.err  # the CLI's log lines reach the task log
    assert PASSWORD not in logs.out + logs.err
    assert "group.id" in logs.out + logs.err  # named as left out; its value never shown


def test_a_plaintext_connection_passes_no_kafka_config(fake_cli, kafka_conn):
    conn_id = kafka_conn(host="127.0.0.1", port=9092)
    op = submit(kafka_conn_id=conn_id, **fake_cli.plan(stdout=[json.dumps(SUMMARY)]))
    op.execute({})
    argv = fake_cli.record()["argv"]
    assert "--kafka-config" not in argv
    assert argv[argv.index("--bootstrap-server") + 1] == "127.0.0.1:9092"


def test_env_is_added_to_the_workers_environment(fake_cli, kafka_conn, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", "/usr/lib/jvm/java-17")
    conn_id = kafka_conn(host="k:9092")
    plan = fake_cli.plan(
        stdout=[json.dumps(SUMMARY)], env_keys=["JAVA_HOME", "SPARK_SYNC_BATCH_SIZE", "SPARK_SYNC_HOME"]
    )
    plan["env"]["SPARK_SYNC_BATCH_SIZE"] = "5000"
    submit(kafka_conn_id=conn_id, **plan).execute({})
    assert fake_cli.record()["env"] == {
        "JAVA_HOME": "/usr/lib/jvm/java-17",
        "SPARK_SYNC_BATCH_SIZE": "5000",
        "SPARK_SYNC_HOME": os.environ.get("SPARK_SYNC_HOME"),
    }


def test_arguments_are_checked_before_the_connection_is_read():
    # The connection does not exist: a bad argument must still be the error reported.
    op = submit(kafka_conn_id="no_such_connection", extra_args="-X sasl.password=hunter2")
    with pytest.raises(SparkSyncConfigError, match="come from kafka_conn_id"):
        op.execute({})
