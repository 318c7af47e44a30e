"""Sync a data file (or a directory of them) into Kafka with spark-sync, exactly once, then audit it.

Needs the operators' package on every scheduler and worker: `pip install ./integrations/airflow`
(from the spark-sync repository). Written for Apache Airflow 2.10 and 3; checked with 2.10.5 by
scripts/check-airflow.sh.

Kafka: the Airflow Connection `kafka_default` (conn type `kafka`, or any): host `host:port` (or a
comma-separated list), and in its extra `security.protocol`, `sasl.mechanism`, `ssl.*`; the SASL
user and password as the connection's login and password. They reach spark-sync in a 0600
properties file, never on its command line.

Each other setting is an Airflow Variable, read when the task runs, not when the file is parsed.
Set it in the UI, with `airflow variables set`, or as the environment variable AIRFLOW_VAR_<NAME>,
e.g. AIRFLOW_VAR_SPARK_SYNC_SOURCE (Airflow's own env-var backend):

    spark_sync_bin          the CLI, or e.g. "node /opt/spark-sync/bin/spark-sync.js"   spark-sync
    spark_sync_source       file, directory, hdfs:// URI or hive:db.table               /data/events
    spark_sync_topic        Kafka topic                                                 events
    spark_sync_home         SPARK_SYNC_HOME (local checkpoint copy, caches);            (empty)
                            empty = the worker's own
    spark_sync_extra_args   more submit flags, e.g. "--create-topic --partitions 6"     (empty)

The checkpoint's authoritative copy lives in the Kafka topic spark-sync-checkpoints (spark-sync's
default), so a retry on any worker resumes where the last try stopped.

Retries are operator arguments, fixed when the file is parsed, so they come from the
environment instead (a top-level Variable.get would query the database at every parse):
SPARK_SYNC_DAG_RETRIES (default 3) and SPARK_SYNC_DAG_RETRY_DELAY_SECONDS (default 300).
Only spark-sync's exit 3 uses them; any other failure fails the task at once.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG

from spark_sync_airflow import SparkSyncOperator, SparkSyncVerifyOperator

KAFKA_CONN_ID = "kafka_default"


def setting(name: str, default: str = "") -> str:
    """Jinja that renders Variable spark_sync_<name> when the task runs, else `default`."""
    # %-formatting, because str.format and f-strings would need every Jinja brace doubled.
    return "{{ var.value.get('spark_sync_%s', %r) }}" % (name, default)


# The same CLI, topic and home for both tasks. An empty rendered value means "not set".
common = {
    "kafka_conn_id": KAFKA_CONN_ID,
    "spark_sync_bin": setting("bin", "spark-sync"),
    "spark_sync_home": setting("home"),
}

with DAG(
    dag_id="spark_sync",
    description="Sync data files into Kafka exactly once with spark-sync, then audit the topic",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    # One sync per topic at a time; a second one would only wait for the writer lease (exit 3).
    max_active_runs=1,
    default_args={
        "retries": int(os.environ.get("SPARK_SYNC_DAG_RETRIES", "3")),
        "retry_delay": timedelta(seconds=float(os.environ.get("SPARK_SYNC_DAG_RETRY_DELAY_SECONDS", "300"))),
    },
    tags=["spark-sync", "kafka"],
    doc_md=__doc__,
) as dag:
    # A retry is safe: the checkpoint advances only after Kafka acknowledged a batch, so a rerun
    # continues where the last one stopped and never sends a record twice. on_kill (marking the
    # task failed, a timeout) sends SIGTERM: spark-sync cancels its Spark job, releases the
    # topic's lease and exits 3. A day with nothing new is skipped, and so is its audit.
    submit = SparkSyncOperator(
        task_id="submit",
        source=setting("source", "/data/events"),
        topic=setting("topic", "events"),
        extra_args=setting("extra_args"),
        skip_when_idle=True,
        **common,
    )
    # Reads every record of the topic's files back with Spark; exit 5 (missing, duplicated,
    # foreign or unaccounted records) fails the run with the counts.
    verify = SparkSyncVerifyOperator(task_id="verify", topic=setting("topic", "events"), **common)
    submit >> verify
