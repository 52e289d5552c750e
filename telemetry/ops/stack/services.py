"""The four servers of the local stack: how each is started and how its health is checked.

Start order is dependency order: MinIO (Flink checkpoints live there), Kafka,
the registry (its storage is independent, but producers need Kafka and the
registry together), then the Flink JobManager and TaskManager.
"""

from __future__ import annotations

import base64
import json
import signal
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from confluent_kafka.admin import AdminClient

from telemetry.core.config import Settings, inherited_environ
from telemetry.core.errors import ServiceError
from telemetry.core.flink_tls import rest_tls_context
from telemetry.core.kafka_config import client_logger, client_secrets_env, librdkafka_config
from telemetry.core.progress import Say
from telemetry.core.storage.s3 import ensure_buckets
from telemetry.ops.host import versions
from telemetry.ops.host.java import find_java
from telemetry.ops.host.layout import Layout, infra_dir
from telemetry.ops.stack.secrets import stack_secret

__all__ = ["SERVICES", "Launch", "Service", "http_ok"]


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
    # After the service is healthy (e.g. buckets, users): runs on every `up`, idempotent.
    after_start: Callable[[Settings, Layout, Say], None] | None = None
    # What `down` sends it (PostgreSQL: SIGINT, its fast shutdown; SIGTERM waits for clients).
    stop_signal: signal.Signals = signal.SIGTERM
    # Deletes what the service keeps outside the data folder, for `make clean`.
    discard: Callable[[Layout], None] | None = None


def http_ok(
    url: str,
    timeout: float = 2.0,
    *,
    ca: str = "",
    user_info: str = "",
    context: ssl.SSLContext | None = None,
) -> bytes | None:
    """The body of a 2xx answer to GET `url` (trusting the PEM `ca`, or through `context`,
    e.g. with a client certificate), else None."""

    request = urllib.request.Request(url)
    if user_info:
        token = base64.b64encode(user_info.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    if context is None and ca:
        context = ssl.create_default_context(cafile=ca)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.read() if 200 <= response.status < 300 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def base_env() -> dict[str, str]:
    """The little of this process's environment a server is started with."""
    return inherited_environ(("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER"))


# MinIO -----------------------------------------------------------------


def minio_launch(settings: Settings, layout: Layout, *extra: str) -> Launch:
    """MinIO's server on the S3 and console ports; `extra` arguments after the ports."""
    env = base_env() | {
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
        f"127.0.0.1:{settings.s3.port}",
        "--console-address",
        f"127.0.0.1:{settings.stack.minio_console_port}",
        *extra,
        "--quiet",
    ]
    return Launch(command, env, layout.data)


def minio_service(
    title: str,
    launch: Callable[[Settings, Layout], Launch],
    after_start: Callable[[Settings, Layout, Say], None],
) -> Service:
    """MinIO as a service of a profile: how it starts and what follows differ."""
    return Service(
        name="minio",
        title=title,
        ports=lambda s: {"S3 API": s.s3.port, "console": s.stack.minio_console_port},
        launch=launch,
        healthy=minio_healthy,
        markers=lambda layout: ("minio", str(layout.service_dir("minio"))),
        endpoint=lambda s: f"{s.s3.endpoint_url}  (console {s.minio_console_url})",
        start_timeout=60,
        after_start=after_start,
    )


def minio_healthy(settings: Settings) -> bool:
    url = f"{settings.s3.endpoint_url}/minio/health/ready"
    return http_ok(url, ca=settings.s3.ca_location) is not None


def ensure_lake_buckets(settings: Settings, layout: Layout, say: Say) -> None:
    buckets = [settings.lake.bucket, settings.job.checkpoint_bucket]
    for bucket in ensure_buckets(settings, buckets):
        say(f"  created bucket {bucket}")


# Kafka -----------------------------------------------------------------


def _kafka_properties(layout: Layout) -> Path:
    return layout.service_dir("kafka") / "server.properties"


def kafka_java(
    settings: Settings, layout: Layout, main: str, *args: str, node: str = "", heap: str = "512m"
) -> list[str]:
    """A Kafka JVM command; `node` names one of several in its command line (pid checks)."""
    java = find_java(versions.JAVA_MIN, settings.stack.java_home, "Kafka")
    return [
        str(java),
        "-Xms256m",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={infra_dir() / 'kafka' / 'log4j2.yaml'}",
        f"-Dtelemetry.ops.stack={layout.data}",
        *([f"-Dtelemetry.node={node}"] if node else []),
        "-cp",
        f"{layout.kafka_libs}/*",
        main,
        *args,
    ]


def _kafka_prepare(settings: Settings, layout: Layout) -> None:
    """Render server.properties and format the KRaft log directory once."""

    log_dir = layout.service_dir("kafka") / "log"
    template = Template((infra_dir() / "kafka" / "server.properties").read_text(encoding="utf-8"))
    properties = _kafka_properties(layout)
    properties.parent.mkdir(parents=True, exist_ok=True)
    properties.write_text(
        template.substitute(
            KAFKA_PORT=settings.kafka.port,
            KAFKA_CONTROLLER_PORT=settings.stack.kafka_controller_port,
            KAFKA_LOG_DIR=str(log_dir),
            TELEMETRY_PARTITIONS=settings.topics.partitions,
        ),
        encoding="utf-8",
    )
    if (log_dir / "meta.properties").exists():
        return
    cluster_id = kafka_cluster_id()
    command = kafka_java(
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


def kafka_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding.

    Never one that starts with '-' (1 in 64 would): kafka-storage would read it as an
    option, so Kafka's own Uuid.randomUuid draws again, and so does this."""
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode())[0] == "-":
        pass
    return cluster_id.rstrip("=")


def _kafka_launch(settings: Settings, layout: Layout) -> Launch:
    command = kafka_java(settings, layout, "kafka.Kafka", str(_kafka_properties(layout)))
    return Launch(command, base_env(), layout.service_dir("kafka"))


def _kafka_healthy(settings: Settings) -> bool:
    host, _, port = settings.kafka.bootstrap_servers.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False

    quiet = client_logger("telemetry.ops.stack.kafka-probe")
    admin = AdminClient(
        # AdminClient's stub takes a dict of scalars only (callbacks are valid too); ours are.
        librdkafka_config(settings, **{"socket.timeout.ms": 2000}),  # type: ignore[arg-type]
        logger=quiet,
    )
    try:
        metadata = admin.list_topics(timeout=2)
    except Exception:
        return False
    return bool(metadata.brokers)


# Registry --------------------------------------------------------------


def _registry_launch(settings: Settings, layout: Layout) -> Launch:
    return registry_launch(settings.registry.port)(settings, layout)


def registry_launch(port: int) -> Callable[[Settings, Layout], Launch]:
    """Apicurio Registry on 127.0.0.1:`port` (management on the next port)."""

    def launch(settings: Settings, layout: Layout) -> Launch:
        return _apicurio(settings, layout, port)

    return launch


def _apicurio(settings: Settings, layout: Layout, port: int) -> Launch:
    java = find_java(
        versions.APICURIO_JAVA_MIN, settings.stack.apicurio_java_home, "Apicurio Registry"
    )
    db = layout.service_dir("registry") / "registry"
    env = base_env() | {
        # SQL storage on an H2 file: survives restarts, needs no other server.
        "APICURIO_STORAGE_KIND": "sql",
        "APICURIO_STORAGE_SQL_KIND": "h2",
        "APICURIO_DATASOURCE_URL": f"jdbc:h2:file:{db};DB_CLOSE_ON_EXIT=FALSE",
        "APICURIO_DATASOURCE_USERNAME": "sa",
        "APICURIO_DATASOURCE_PASSWORD": "",
        "QUARKUS_HTTP_HOST": "127.0.0.1",
        "QUARKUS_HTTP_PORT": str(port),
        # The management interface (health, metrics) is enabled at build time
        # and would bind 0.0.0.0:9000, MinIO's port: move it next to the API.
        "QUARKUS_MANAGEMENT_HOST": "127.0.0.1",
        "QUARKUS_MANAGEMENT_PORT": str(port + 1),
        "QUARKUS_LOG_CONSOLE_JSON": "false",
    }
    command = [
        str(java),
        "-Xms128m",
        "-Xmx384m",
        f"-Dtelemetry.ops.stack={layout.data}",
        "-jar",
        str(layout.apicurio_dir / "quarkus-run.jar"),
    ]
    return Launch(command, env, layout.service_dir("registry"))


def registry_healthy(settings: Settings) -> bool:
    return (
        http_ok(
            f"{settings.registry.url}/subjects",
            ca=settings.registry.ca_location,
            user_info=settings.registry.basic_auth_user_info.reveal(),
        )
        is not None
    )


# Flink -----------------------------------------------------------------


def flink_env(settings: Settings, layout: Layout) -> dict[str, str]:
    """Flink's environment: the clients' secrets reach its JVMs here, never in its config
    (which its REST API shows) nor in job graphs (`${env:...}` and the S3A env chain)."""
    java = find_java(versions.JAVA_MIN, settings.stack.java_home, "Flink")
    return (
        base_env()
        | client_secrets_env(settings)
        | {
            "JAVA_HOME": str(java.parents[1]),
            "FLINK_HOME": str(layout.flink_home),
            "FLINK_CONF_DIR": str(layout.flink_home / "conf"),
            "FLINK_LOG_DIR": str(layout.logs),
            "FLINK_PID_DIR": str(layout.run),
        }
    )


def jobmanager_launch(settings: Settings, layout: Layout) -> Launch:
    command = [str(layout.flink_home / "bin" / "jobmanager.sh"), "start-foreground"]
    return Launch(command, flink_env(settings, layout), layout.flink_home)


def taskmanager_launch(
    name: str = "taskmanager", dynamic: dict[str, str] | None = None
) -> Callable[[Settings, Layout], Launch]:
    """A TaskManager; `dynamic` properties (`-D key=value`) set its own ports."""

    def launch(settings: Settings, layout: Layout) -> Launch:
        command = [str(layout.flink_home / "bin" / "taskmanager.sh"), "start-foreground"]
        for key, value in (dynamic or {}).items():
            command += ["-D", f"{key}={value}"]
        env = flink_env(settings, layout)
        if name != "taskmanager":  # several TaskManagers: a log and pid folder each
            env["FLINK_LOG_DIR"] = str(layout.logs / name)
            env["FLINK_PID_DIR"] = str(layout.run / name)
        return Launch(command, env, layout.flink_home)

    return launch


def _flink_json(settings: Settings, path: str) -> dict | None:
    body = http_ok(f"{settings.flink.rest_url}{path}", context=rest_tls_context(settings))
    if body is None:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def jobmanager_healthy(settings: Settings) -> bool:
    return _flink_json(settings, "/overview") is not None


def taskmanager_registered(resource_id: str | None = None) -> Callable[[Settings], bool]:
    """Healthy once the JobManager lists the TaskManager of `resource_id` (without one: any).

    By its id, not a count: after a kill, the JobManager lists the dead one until its
    heartbeat times out, and another TaskManager's health must not hang on that one.
    """

    def healthy(settings: Settings) -> bool:
        data = _flink_json(settings, "/taskmanagers") or {}
        ids = [tm.get("id") for tm in data.get("taskmanagers", [])]
        return resource_id in ids if resource_id else bool(ids)

    return healthy


def flink_markers(entrypoint: str, *extra: str) -> Callable[[Layout], tuple[str, ...]]:
    return lambda layout: (entrypoint, str(layout.flink_home / "conf"), *extra)


SERVICES: tuple[Service, ...] = (
    minio_service("MinIO (S3)", minio_launch, ensure_lake_buckets),
    Service(
        name="kafka",
        title="Kafka (KRaft)",
        ports=lambda s: {"broker": s.kafka.port, "controller": s.stack.kafka_controller_port},
        launch=_kafka_launch,
        healthy=_kafka_healthy,
        markers=lambda layout: ("kafka.Kafka", f"-Dtelemetry.ops.stack={layout.data}"),
        endpoint=lambda s: s.kafka.bootstrap_servers,
        prepare=_kafka_prepare,
    ),
    Service(
        name="registry",
        title="Schema Registry (Apicurio, Confluent API)",
        ports=lambda s: {"HTTP": s.registry.port, "management": s.registry.port + 1},
        launch=_registry_launch,
        healthy=registry_healthy,
        markers=lambda layout: ("quarkus-run.jar", f"-Dtelemetry.ops.stack={layout.data}"),
        endpoint=lambda s: s.registry.url,
    ),
    Service(
        name="jobmanager",
        title="Flink JobManager",
        ports=lambda s: {"REST/UI": s.flink.port, "RPC": 6123},
        launch=jobmanager_launch,
        healthy=jobmanager_healthy,
        markers=flink_markers("StandaloneSessionClusterEntrypoint"),
        endpoint=lambda s: s.flink.rest_url,
    ),
    Service(
        name="taskmanager",
        title="Flink TaskManager",
        ports=lambda s: {"data": 6124, "RPC": 6125},
        launch=taskmanager_launch(),
        healthy=taskmanager_registered(),
        markers=flink_markers("TaskManagerRunner"),
        endpoint=lambda s: f"{s.flink.rest_url}/#/task-manager",
    ),
)
