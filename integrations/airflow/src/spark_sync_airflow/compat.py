"""The few Airflow names this package uses, from Airflow 3's task SDK when present, else from
Airflow 2.10 (where the SDK does not exist). Only public APIs: no hook's private methods."""

from __future__ import annotations

try:
    from airflow.sdk import BaseOperator
except ImportError:  # Airflow 2
    from airflow.models import BaseOperator  # type: ignore[no-redef]

try:
    from airflow.sdk import BaseHook
except ImportError:  # Airflow 2 (and 3.0, where the SDK did not export it yet)
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef]

# As one group, so the three always come from the same module.
try:
    from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException
except ImportError:  # Airflow 2, and 3 releases whose SDK lacks them
    from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException  # type: ignore[no-redef]

try:
    from airflow.sdk.log import mask_secret
except ImportError:
    try:
        from airflow.utils.log.secrets_masker import mask_secret  # type: ignore[no-redef]
    except ImportError:  # pragma: no cover - masking is a second line of defence only

        def mask_secret(secret, name=None):  # type: ignore[no-redef]
            """Nothing to register with: secrets never reach a log or a command line anyway."""


__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowSkipException",
    "BaseHook",
    "BaseOperator",
    "mask_secret",
]
