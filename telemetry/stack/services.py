"""The four servers of the local stack: how each is started and how its health is checked.

Start order is dependency order: MinIO (Flink checkpoints live there), Kafka,
the registry (its storage is independent, but producers need Kafka and the
registry together), then the Flink JobManager and TaskManager.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from telemetry import versions
from telemetry.config import Settings
from telemetry.kafka import client_secrets_env, librdkafka_config
from telemetry.stack.java import find_java
from telemetry.stack.layout import Layout, infra_dir
from telemetry.stack.secrets import stack_secret

__all__ = ["SERVICES", "Launch", "Service"]


@dataclass(frozen=True)
class Launch:
    command: list[str]
    env: dict[str, str]
    cwd: Path


@dataclass(frozen=True)
class Service:
    name: str
    title: str
    ports: Callable[[Settings], dict[str, int]]
    launch: Callable[[Settings, Layout], Launch]
    healthy: Callable[[Settings], bool]
    markers: Callable[[Layout], tuple[str, ...]]
    endpoint: Callable[[Settings], str]
    start_timeout: float = 90.0
    prepare: Callable[[Settings, Layout], None] | None = field(default=None)


def _http_ok(url: str, timeout: float = 2.0) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read() if 200 <= response.status < 300 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER")
    return {k: os.environ[k] for k in keep if k in os.environ}


# MinIO -----------------------------------------------------------------


def _minio_launch(settings: Settings, layout: Layout) -> Launch:
    env = _base_env() | {
        "MINIO_ROOT_USER": stack_secret(settings, "MINIO_ROOT_USER"),
        "MINIO_ROOT_PASSWORD": stack_secret(settings, "MINIO_ROOT_PASSWORD"),
        "MINIO_BROWSER": "on",
        "MINIO_UPDATE": "off",
        "MINIO_CI_CD": "1",
    }
    command = [
        str(layout.minio_bin),
        "server",
        str(layout.service_dir("minio")),
        "--address",
        f"127.0.0.1:{settings.s3_port}",
        "--console-address",
        f"127.0.0.1:{settings.minio_console_port}",
        "--quiet",
    ]
    return Launch(command, env, layout.data)


def _minio_healthy(settings: Settings) -> bool:
    return _http_ok(f"{settings.s3_endpoint_url}/minio/health/ready") is not None


# Kafka -----------------------------------------------------------------


def _kafka_properties(layout: Layout) -> Path:
    return layout.service_dir("kafka") / "server.properties"


def _kafka_java(settings: Settings, layout: Layout, main: str, *args: str) -> list[str]:
    java = find_java(versions.JAVA_MIN, settings.java_home, "Kafka")
    return [
        str(java),
        "-Xms256m",
        "-Xmx512m",
        "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={infra_dir() / 'kafka' / 'log4j2.yaml'}",
        f"-Dtelemetry.stack={layout.data}",
        "-cp",
        f"{layout.kafka_libs}/*",
        main,
        *args,
    ]


def _kafka_prepare(settings: Settings, layout: Layout) -> None:
    """Render server.properties and format the KRaft log directory once."""
    import subprocess

    from telemetry.errors import ServiceError

    log_dir = layout.service_dir("kafka") / "log"
    template = Template((infra_dir() / "kafka" / "server.properties").read_text(encoding="utf-8"))
    properties = _kafka_properties(layout)
    properties.parent.mkdir(parents=True, exist_ok=True)
    properties.write_text(
        template.substitute(
            KAFKA_PORT=settings.kafka_port,
            KAFKA_CONTROLLER_PORT=settings.kafka_controller_port,
            KAFKA_LOG_DIR=str(log_dir),
            TELEMETRY_PARTITIONS=settings.telemetry_partitions,
        ),
        encoding="utf-8",
    )
    if (log_dir / "meta.properties").exists():
        return
    cluster_id = _kafka_cluster_id()
    command = _kafka_java(
        settings,
        layout,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id,
        "-c",
        str(properties),
    )
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ServiceError(f"formatting Kafka's KRaft storage in {log_dir} failed: {last[0]}")


def _kafka_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _kafka_launch(settings: Settings, layout: Layout) -> Launch:
    command = _kafka_java(settings, layout, "kafka.Kafka", str(_kafka_properties(layout)))
    return Launch(command, _base_env(), layout.service_dir("kafka"))


def _kafka_healthy(settings: Settings) -> bool:
    import logging
    import socket

    host, _, port = settings.kafka_bootstrap_servers.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    from confluent_kafka.admin import AdminClient

    quiet = logging.getLogger("telemetry.stack.kafka-probe")
    quiet.propagate = False
    admin = AdminClient(
        librdkafka_config(settings, **{"socket.timeout.ms": 2000}),
        logger=quiet,
    )
    try:
        metadata = admin.list_topics(timeout=2)
    except Exception:
        return False
    return bool(metadata.brokers)


# Registry --------------------------------------------------------------


def _registry_launch(settings: Settings, layout: Layout) -> Launch:
    java = find_java(versions.APICURIO_JAVA_MIN, settings.apicurio_java_home, "Apicurio Registry")
    db = layout.service_dir("registry") / "registry"
    env = _base_env() | {
        # SQL storage on an H2 file: survives restarts, needs no other server.
        "APICURIO_STORAGE_KIND": "sql",
        "APICURIO_STORAGE_SQL_KIND": "h2",
        "APICURIO_DATASOURCE_URL": f"jdbc:h2:file:{db};DB_CLOSE_ON_EXIT=FALSE",
        "APICURIO_DATASOURCE_USERNAME": "sa",
        "APICURIO_DATASOURCE_PASSWORD": "",
        "QUARKUS_HTTP_HOST": "127.0.0.1",
        "QUARKUS_HTTP_PORT": str(settings.registry_port),
        # The management interface (health, metrics) is enabled at build time
        # and would bind 0.0.0.0:9000, MinIO's port: move it next to the API.
        "QUARKUS_MANAGEMENT_HOST": "127.0.0.1",
        "QUARKUS_MANAGEMENT_PORT": str(settings.registry_port + 1),
        "QUARKUS_LOG_CONSOLE_JSON": "false",
    }
    command = [
        str(java),
        "-Xms128m",
        "-Xmx384m",
        f"-Dtelemetry.stack={layout.data}",
        "-jar",
        str(layout.apicurio_dir / "quarkus-run.jar"),
    ]
    return Launch(command, env, layout.service_dir("registry"))


def _registry_healthy(settings: Settings) -> bool:
    return _http_ok(f"{settings.schema_registry_url}/subjects") is not None


# Flink -----------------------------------------------------------------


def _flink_env(settings: Settings, layout: Layout) -> dict[str, str]:
    """Flink's environment: the clients' secrets reach its JVMs here, never in its config
    (which its REST API shows) nor in job graphs (`${env:...}` and the S3A env chain)."""
    java = find_java(versions.JAVA_MIN, settings.java_home, "Flink")
    return (
        _base_env()
        | client_secrets_env(settings)
        | {
            "JAVA_HOME": str(java.parents[1]),
            "FLINK_HOME": str(layout.flink_home),
            "FLINK_CONF_DIR": str(layout.flink_home / "conf"),
            "FLINK_LOG_DIR": str(layout.logs),
            "FLINK_PID_DIR": str(layout.run),
        }
    )


def _jobmanager_launch(settings: Settings, layout: Layout) -> Launch:
    command = [str(layout.flink_home / "bin" / "jobmanager.sh"), "start-foreground"]
    return Launch(command, _flink_env(settings, layout), layout.flink_home)


def _taskmanager_launch(settings: Settings, layout: Layout) -> Launch:
    command = [str(layout.flink_home / "bin" / "taskmanager.sh"), "start-foreground"]
    return Launch(command, _flink_env(settings, layout), layout.flink_home)


def _flink_json(settings: Settings, path: str) -> dict | None:
    body = _http_ok(f"{settings.flink_rest_url}{path}")
    if body is None:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _jobmanager_healthy(settings: Settings) -> bool:
    return _flink_json(settings, "/overview") is not None


def _taskmanager_healthy(settings: Settings) -> bool:
    data = _flink_json(settings, "/taskmanagers")
    return bool(data and data.get("taskmanagers"))


def _flink_markers(entrypoint: str) -> Callable[[Layout], tuple[str, ...]]:
    return lambda layout: (entrypoint, str(layout.flink_home / "conf"))


SERVICES: tuple[Service, ...] = (
    Service(
        name="minio",
        title="MinIO (S3)",
        ports=lambda s: {"S3 API": s.s3_port, "console": s.minio_console_port},
        launch=_minio_launch,
        healthy=_minio_healthy,
        markers=lambda layout: ("minio", str(layout.service_dir("minio"))),
        endpoint=lambda s: f"{s.s3_endpoint_url}  (console {s.minio_console_url})",
        start_timeout=60,
    ),
    Service(
        name="kafka",
        title="Kafka (KRaft)",
        ports=lambda s: {"broker": s.kafka_port, "controller": s.kafka_controller_port},
        launch=_kafka_launch,
        healthy=_kafka_healthy,
        markers=lambda layout: ("kafka.Kafka", f"-Dtelemetry.stack={layout.data}"),
        endpoint=lambda s: s.kafka_bootstrap_servers,
        prepare=_kafka_prepare,
    ),
    Service(
        name="registry",
        title="Schema Registry (Apicurio, Confluent API)",
        ports=lambda s: {"HTTP": s.registry_port, "management": s.registry_port + 1},
        launch=_registry_launch,
        healthy=_registry_healthy,
        markers=lambda layout: ("quarkus-run.jar", f"-Dtelemetry.stack={layout.data}"),
        endpoint=lambda s: s.schema_registry_url,
    ),
    Service(
        name="jobmanager",
        title="Flink JobManager",
        ports=lambda s: {"REST/UI": s.flink_port, "RPC": 6123},
        launch=_jobmanager_launch,
        healthy=_jobmanager_healthy,
        markers=_flink_markers("StandaloneSessionClusterEntrypoint"),
        endpoint=lambda s: s.flink_rest_url,
    ),
    Service(
        name="taskmanager",
        title="Flink TaskManager",
        ports=lambda s: {"data": 6124, "RPC": 6125},
        launch=_taskmanager_launch,
        healthy=_taskmanager_healthy,
        markers=_flink_markers("TaskManagerRunner"),
        endpoint=lambda s: f"{s.flink_rest_url}/#/task-manager",
    ),
)
