"""Apache Airflow operators for spark-sync, the exactly-once file-to-Kafka sync run by Spark.

from spark_sync_airflow import SparkSyncOperator, SparkSyncVerifyOperator
"""

from spark_sync_airflow.exceptions import SparkSyncConfigError, SparkSyncFailedError, SparkSyncRetriableError
from spark_sync_airflow.operators import SparkSyncOperator, SparkSyncVerifyOperator

__version__ = "0.1.0"

__all__ = [
    "SparkSyncConfigError",
    "SparkSyncFailedError",
    "SparkSyncOperator",
    "SparkSyncRetriableError",
    "SparkSyncVerifyOperator",
    "__version__",
]
