"""What ``airflow providers list`` shows for this package (entry point apache_airflow_provider).

Kept free of Airflow imports: Airflow reads it while it discovers providers.
"""


def get_provider_info() -> dict:
    return {
        "package-name": "spark-sync-airflow",
        "name": "spark-sync",
        "description": "Operators that run spark-sync: exactly-once syncs of files into Kafka, executed by Apache Spark.",
        "versions": ["0.1.0"],
    }
