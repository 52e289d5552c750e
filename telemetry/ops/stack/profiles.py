"""Which servers a profile of the local stack runs, and how Flink is configured for it.

`local` (the default): one plaintext node of each server (telemetry.ops.stack.services).
`cluster` (`make up PROFILE=cluster`): the production shape (telemetry.ops.stack.cluster).
"""

from __future__ import annotations

from telemetry.core.config import Settings
from telemetry.ops.host.layout import Layout
from telemetry.ops.stack import cluster
from telemetry.ops.stack.services import SERVICES, Service

__all__ = ["flink_config_values", "services_for"]


def services_for(settings: Settings) -> tuple[Service, ...]:
    if settings.profile == "cluster":
        return cluster.SERVICES
    return SERVICES


def flink_config_values(settings: Settings, layout: Layout) -> dict[str, str]:
    """The profile's values of infra/flink/config.yaml's placeholders."""
    if settings.profile == "cluster":
        return cluster.flink_config_values(settings, layout)
    return {
        "JM_RPC_PORT": "6123",
        "TM_DATA_PORT": "6124",
        "TM_RPC_PORT": "6125",
        "TM_SLOTS": "4",
        "TM_MEMORY": "2816m",
        "TM_METASPACE": "512m",
        "DEFAULT_PARALLELISM": str(settings.job.parallelism or 2),
        "EXTRA_JAVA_OPTS": "",
        "PROFILE_EXTRA": "",
    }
