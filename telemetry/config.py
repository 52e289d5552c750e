"""The one place that reads the environment.

Every setting has a conventional variable name and a local default that
matches the stack `telemetry up` starts. Malformed values fail at once with
the variable's name. Secrets print as `***`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from telemetry.errors import ConfigError

__all__ = ["ENV_VARS", "Secret", "Settings", "ci_annotations", "load_settings", "repo_root"]


def repo_root() -> Path | None:
    """The checkout this package was installed from (editable install), if any."""
    candidate = Path(__file__).resolve().parents[1]
    return candidate if (candidate / "pyproject.toml").is_file() else None


def _default_data_dir() -> str:
    root = repo_root()
    if root is not None:
        return str(root / ".data")
    return str(Path.home() / ".local" / "state" / "telemetry-pipeline")


def _default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "telemetry-pipeline")


class Secret(str):
    """A string that never shows itself in repr or logs."""

    def __repr__(self) -> str:
        return "'***'"

    def reveal(self) -> str:
        return str.__str__(self)


@dataclass(frozen=True)
class _Var:
    name: str
    default: str
    doc: str
    secret: bool = False


# name -> (default, description). The README's configuration table is this list.
ENV_VARS: tuple[_Var, ...] = (
    _Var("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092", "Kafka bootstrap servers (host:port,...)"),
    _Var(
        "SCHEMA_REGISTRY_URL",
        "http://127.0.0.1:8085/apis/ccompat/v7",
        "Confluent-compatible Schema Registry API",
    ),
    _Var("S3_ENDPOINT_URL", "http://127.0.0.1:9000", "S3 API endpoint (MinIO)"),
    _Var("AWS_ACCESS_KEY_ID", "minioadmin", "S3 access key (local MinIO default)", secret=True),
    _Var("AWS_SECRET_ACCESS_KEY", "minioadmin", "S3 secret key (local MinIO default)", secret=True),
    _Var("AWS_REGION", "us-east-1", "S3 region"),
    _Var("FLINK_REST_URL", "http://127.0.0.1:8081", "Flink JobManager REST API and Web UI"),
    _Var("TELEMETRY_TOPIC", "telemetry_data", "Kafka topic of telemetry events"),
    _Var("TELEMETRY_DLQ_TOPIC", "telemetry_data.dlq", "Kafka topic for undecodable records"),
    _Var("TELEMETRY_BUCKET", "telemetry-data", "Bucket for the Parquet window aggregates"),
    _Var("TELEMETRY_CHECKPOINT_BUCKET", "flink-checkpoints", "Bucket for Flink checkpoints"),
    _Var("TELEMETRY_PARTITIONS", "4", "Partitions of the telemetry topic when it is created"),
    _Var("TELEMETRY_WINDOW_SECONDS", "5", "Event-time tumbling window length (job)"),
    _Var("TELEMETRY_OUT_OF_ORDERNESS_SECONDS", "2", "Watermark delay: how late an event may be"),
    _Var(
        "TELEMETRY_IDLE_TIMEOUT_SECONDS",
        "5",
        "Kafka confirms a partition drained this long: event time follows the clock",
    ),
    _Var("TELEMETRY_CHECKPOINT_SECONDS", "5", "Checkpoint interval: Parquet files commit on it"),
    _Var(
        "TELEMETRY_WINDOW_SCHEMA_VERSION",
        "0",
        "telemetry_window-value version the job's files get (0: the latest)",
    ),
    _Var("MINIO_CONSOLE_PORT", "9001", "Port of the MinIO web console (local stack)"),
    _Var("KAFKA_CONTROLLER_PORT", "9093", "Port of the KRaft controller (local stack)"),
    _Var("TELEMETRY_DATA_DIR", "", "All local stack state: logs, pid files, data"),
    _Var("TELEMETRY_CACHE_DIR", "", "Downloaded servers and jars, shared by checkouts"),
    _Var("JAVA_HOME", "", "JDK 17+ for Kafka and Flink (found on PATH if unset)"),
    _Var("APICURIO_JAVA_HOME", "", "JDK 21+ for Apicurio Registry (found if unset)"),
)

_DYNAMIC_DEFAULTS = {
    "TELEMETRY_DATA_DIR": _default_data_dir,
    "TELEMETRY_CACHE_DIR": _default_cache_dir,
}


def _url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}={value!r} is not an http(s) URL; e.g. {name}=http://host:port")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"{name}={value!r} has an invalid port") from exc
    return value.rstrip("/")


def _port(name: str, value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{name}={value!r} is not a port number (1-65535)")
    return port


def _int_at_least(minimum: int) -> Callable[[str, str], int]:
    def parse(name: str, value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name}={value!r} is not a whole number") from None
        if number < minimum:
            raise ConfigError(f"{name}={value!r} must be at least {minimum}")
        return number

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _bootstrap(name: str, value: str) -> str:
    for server in value.split(","):
        host, sep, port = server.strip().rpartition(":")
        if not sep or not host:
            raise ConfigError(f"{name}={value!r}: each server must be host:port")
        _port(name, port)
    return value


def _bucket(name: str, value: str) -> str:
    ok = 3 <= len(value) <= 63 and value[0].isalnum() and value[-1].isalnum()
    if not ok or any(not (c.islower() or c.isdigit() or c in "-.") for c in value):
        raise ConfigError(
            f"{name}={value!r} is not a valid bucket name "
            "(3-63 lowercase letters, digits, '-', '.')"
        )
    return value


def _topic(name: str, value: str) -> str:
    if not value or len(value) > 249 or any(not (c.isalnum() or c in "._-") for c in value):
        raise ConfigError(f"{name}={value!r} is not a valid Kafka topic name")
    return value


@dataclass(frozen=True)
class Settings:
    """Effective configuration. Build it with `load_settings()`."""

    kafka_bootstrap_servers: str
    schema_registry_url: str
    s3_endpoint_url: str
    aws_access_key_id: Secret = field(repr=False)
    aws_secret_access_key: Secret = field(repr=False)
    aws_region: str
    flink_rest_url: str
    telemetry_topic: str
    telemetry_dlq_topic: str
    telemetry_bucket: str
    telemetry_checkpoint_bucket: str
    telemetry_partitions: int
    telemetry_window_seconds: int
    telemetry_out_of_orderness_seconds: int
    telemetry_idle_timeout_seconds: int
    telemetry_checkpoint_seconds: int
    telemetry_window_schema_version: int
    minio_console_port: int
    kafka_controller_port: int
    telemetry_data_dir: Path
    telemetry_cache_dir: Path
    java_home: str
    apicurio_java_home: str

    # Derived endpoints of the local stack ----------------------------------

    @property
    def kafka_port(self) -> int:
        return int(self.kafka_bootstrap_servers.split(",")[0].rpartition(":")[2])

    @property
    def registry_port(self) -> int:
        return urlsplit(self.schema_registry_url).port or 80

    @property
    def registry_base_url(self) -> str:
        """The registry server's root (the ccompat API path removed)."""
        parts = urlsplit(self.schema_registry_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def s3_port(self) -> int:
        return urlsplit(self.s3_endpoint_url).port or 80

    @property
    def flink_port(self) -> int:
        return urlsplit(self.flink_rest_url).port or 80

    @property
    def minio_console_url(self) -> str:
        host = urlsplit(self.s3_endpoint_url).hostname
        return f"http://{host}:{self.minio_console_port}"

    def items(self) -> Iterator[tuple[str, str, bool]]:
        """(variable name, value as text, is secret) for every setting."""
        for f in fields(self):
            value = getattr(self, f.name)
            text = value.reveal() if isinstance(value, Secret) else str(value)
            yield f.name.upper(), text, isinstance(value, Secret)


_PARSERS = {
    "KAFKA_BOOTSTRAP_SERVERS": _bootstrap,
    "SCHEMA_REGISTRY_URL": _url,
    "S3_ENDPOINT_URL": _url,
    "FLINK_REST_URL": _url,
    "TELEMETRY_TOPIC": _topic,
    "TELEMETRY_DLQ_TOPIC": _topic,
    "TELEMETRY_BUCKET": _bucket,
    "TELEMETRY_CHECKPOINT_BUCKET": _bucket,
    "TELEMETRY_PARTITIONS": _positive_int,
    "TELEMETRY_WINDOW_SECONDS": _positive_int,
    "TELEMETRY_OUT_OF_ORDERNESS_SECONDS": _non_negative_int,
    "TELEMETRY_IDLE_TIMEOUT_SECONDS": _positive_int,
    "TELEMETRY_CHECKPOINT_SECONDS": _positive_int,
    "TELEMETRY_WINDOW_SCHEMA_VERSION": _non_negative_int,
    "MINIO_CONSOLE_PORT": _port,
    "KAFKA_CONTROLLER_PORT": _port,
    "TELEMETRY_DATA_DIR": lambda _n, v: Path(v).expanduser().absolute(),
    "TELEMETRY_CACHE_DIR": lambda _n, v: Path(v).expanduser().absolute(),
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from `environ` (default: the process environment)."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for var in ENV_VARS:
        raw = env.get(var.name, "").strip()
        if not raw:
            default = _DYNAMIC_DEFAULTS.get(var.name)
            raw = default() if default else var.default
        parser = _PARSERS.get(var.name)
        value: object = parser(var.name, raw) if parser else raw
        if var.secret:
            value = Secret(raw)
        values[var.name.lower()] = value
    return Settings(**values)  # type: ignore[arg-type]


def ci_annotations(environ: Mapping[str, str] | None = None) -> str | None:
    """How the CI running us wants findings on file lines, from the variables CI sets.

    `github` under GitHub Actions (`GITHUB_ACTIONS=true`), `plain` under any
    other CI (`CI=true`), None outside CI. These are the CI's variables, not
    settings of ours, so they are not in ENV_VARS.
    """
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTIONS", "").strip().lower() == "true":
        return "github"
    if env.get("CI", "").strip().lower() in ("true", "1", "yes"):
        return "plain"
    return None
