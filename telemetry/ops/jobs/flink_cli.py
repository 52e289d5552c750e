"""The environment of a Flink client of the assembled Flink home.

PyFlink's gateway (telemetry.ops.jobs.client) and the `flink` command take it:
the Flink home, its configuration (e.g. REST over mutual TLS) and the clients' secrets.
"""

from __future__ import annotations

import os
import sys

from telemetry.core.config import Settings
from telemetry.core.errors import ServiceError
from telemetry.core.kafka_config import client_secrets_env
from telemetry.ops.host import versions
from telemetry.ops.host.java import find_java
from telemetry.ops.host.layout import Layout


def client_env(settings: Settings) -> dict[str, str]:
    layout = Layout.of(settings)
    if not (layout.flink_home / "bin" / "flink").exists():
        raise ServiceError(f"no Flink client in {layout.flink_home}; run `make up` first")
    java = find_java(versions.JAVA_MIN, settings.stack.java_home, "the Flink client")
    # The client touches S3 and Kafka too (paths, plans): the same secrets as Flink's
    # processes, in its environment.
    return dict(
        os.environ,
        **client_secrets_env(settings),
        JAVA_HOME=str(java.parents[1]),
        FLINK_HOME=str(layout.flink_home),
        FLINK_CONF_DIR=str(layout.flink_home / "conf"),
        FLINK_LOG_DIR=str(layout.logs),
        # PyFlink's client starts its own gateway JVM: no Python UDF workers needed.
        PYFLINK_CLIENT_EXECUTABLE=sys.executable,
    )
