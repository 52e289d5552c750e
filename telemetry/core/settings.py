"""The settings of each component, declared once: Kafka, the registry, S3, Flink, the
topics, the lake, the job, the producer and the local stack.

Each field is one environment variable: its name is the class's PREFIX and the field's
name in capitals unless `setting(env=...)` names it; `setting(...)` gives the local
default, the meaning, the parser and the cluster profile's default. telemetry.core.config
loads them all into one `Settings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from telemetry.core import parsing as p
from telemetry.core.bundled import bundled, checkout
from telemetry.core.errors import InvalidInputError
from telemetry.core.parsing import setting
from telemetry.core.secret import Secret

__all__ = [
    "COMPONENTS",
    "FlinkSettings",
    "JobSettings",
    "KafkaSettings",
    "LakeSettings",
    "ProducerSettings",
    "RegistrySettings",
    "S3Settings",
    "StackSettings",
    "TopicSettings",
]

PROFILES = ("local", "cluster")


# Defaults computed when the settings are loaded --------------------------------------


def _default_data_dir(_env: Mapping[str, str], profile: str) -> str:
    folder = ".data" if profile == "local" else f".data-{profile}"
    root = checkout()
    if root is not None:
        return str(root / folder)
    return str(Path.home() / ".local" / "state" / "telemetry-pipeline" / profile)


def _default_cache_dir(env: Mapping[str, str], _profile: str) -> str:
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "telemetry-pipeline")


def _default_schemas_dir(_env: Mapping[str, str], _profile: str) -> str:
    try:
        return str(bundled("schemas"))
    except InvalidInputError:
        return ""  # schemas_dir() says to set TELEMETRY_SCHEMAS_DIR


def _port_of(url: str) -> int:
    return urlsplit(url).port or 80


# Components --------------------------------------------------------------------------


@dataclass(frozen=True)
class KafkaSettings:
    """Every Kafka client's connection, Python and JVM."""

    PREFIX: ClassVar[str] = "KAFKA_"

    bootstrap_servers: str = setting(
        "127.0.0.1:9092",
        "Kafka bootstrap servers (host:port,...)",
        parse=p.bootstrap,
        cluster="127.0.0.1:19092,127.0.0.1:19192,127.0.0.1:19292",
    )
    security_protocol: str = setting(
        "PLAINTEXT",
        "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (every Kafka client, Python and JVM)",
        parse=p.one_of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
        cluster="SASL_SSL",
    )
    sasl_mechanism: str = setting(
        "SCRAM-SHA-512",
        "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
        parse=p.one_of("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
    )
    sasl_username: str = setting("", "SASL user name (SASL_* protocols)", cluster="telemetry")
    sasl_password: Secret = setting("", "SASL password (SASL_* protocols)")
    ssl_ca_location: str = setting(
        "",
        "PEM file of the CA that signed the brokers' certificates",
        parse=p.pem_file,
        cluster_tls="ca.pem",
    )

    @property
    def port(self) -> int:
        """The first bootstrap server's port."""
        return int(self.bootstrap_servers.split(",")[0].rpartition(":")[2])


@dataclass(frozen=True)
class RegistrySettings:
    """The Confluent-compatible schema registry, and the schemas it is given."""

    PREFIX: ClassVar[str] = "SCHEMA_REGISTRY_"

    url: str = setting(
        "http://127.0.0.1:8085/apis/ccompat/v7",
        "Confluent-compatible Schema Registry API",
        parse=p.url,
        cluster="https://127.0.0.1:18443/apis/ccompat/v7",
    )
    basic_auth_user_info: Secret = setting(
        "", "user:password for the registry (Confluent's basic.auth.user.info)"
    )
    ca_location: str = setting(
        "", "PEM file of the CA of an https registry", parse=p.pem_file, cluster_tls="ca.pem"
    )
    schemas_dir: str = setting(
        "",
        "Folder of the Avro schemas and their subjects.toml (default: the package's schemas/)",
        env="TELEMETRY_SCHEMAS_DIR",
        dynamic=_default_schemas_dir,
    )

    @property
    def port(self) -> int:
        return _port_of(self.url)

    @property
    def base_url(self) -> str:
        """The registry server's root (the ccompat API path removed)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class S3Settings:
    """The object store of the lake and the checkpoints (MinIO locally)."""

    PREFIX: ClassVar[str] = "S3_"

    endpoint_url: str = setting(
        "http://127.0.0.1:9000",
        "S3 API endpoint (MinIO); empty: AWS",
        parse=p.url,
        cluster="https://127.0.0.1:19000",
    )
    access_key_id: Secret = setting(
        "",
        "S3 access key (local stack: generated); none: the AWS credential chain",
        env="AWS_ACCESS_KEY_ID",
    )
    secret_access_key: Secret = setting(
        "", "S3 secret key (local stack: generated)", env="AWS_SECRET_ACCESS_KEY"
    )
    session_token: Secret = setting(
        "", "S3 session token of temporary credentials", env="AWS_SESSION_TOKEN"
    )
    ca_location: str = setting(
        "",
        "PEM file of the CA of an https S3 endpoint (unset: AWS_CA_BUNDLE or the system's)",
        parse=p.pem_file,
        cluster_tls="ca.pem",
    )
    addressing_style: str = setting(
        "path",
        "path (MinIO) or virtual (bucket.host) addressing",
        parse=p.one_of("path", "virtual", fold=str.lower),
    )
    region: str = setting("us-east-1", "S3 region", env="AWS_REGION")

    @property
    def port(self) -> int:
        return _port_of(self.endpoint_url)


@dataclass(frozen=True)
class FlinkSettings:
    """The Flink cluster's REST API, and the client configuration jobs are submitted with."""

    PREFIX: ClassVar[str] = "FLINK_"

    rest_url: str = setting(
        "http://127.0.0.1:8081",
        "Flink JobManager REST API and Web UI",
        parse=p.url,
        cluster="https://127.0.0.1:18081",
    )
    rest_ca_location: str = setting(
        "", "PEM file of the CA of an https Flink REST API", parse=p.pem_file, cluster_tls="ca.pem"
    )
    rest_cert_location: str = setting(
        "",
        "PEM client certificate for a Flink REST API that requires one (mutual TLS)",
        parse=p.pem_file,
        cluster_tls="client-flink.pem",
    )
    rest_key_location: str = setting(
        "",
        "PEM private key of FLINK_REST_CERT_LOCATION (empty: in the certificate's file)",
        parse=p.pem_file,
        cluster_tls="client-flink.key",
    )
    rest_key_password: Secret = setting(
        "",
        "Password of an encrypted FLINK_REST_KEY_LOCATION (cluster: also of the browser's "
        "client-flink.p12)",
    )
    conf_dir: str = setting(
        "",
        "Flink client configuration a job is submitted with (set by `flink run` and the "
        "in-process client: the assembled Flink home's conf/)",
    )

    @property
    def port(self) -> int:
        return _port_of(self.rest_url)


@dataclass(frozen=True)
class TopicSettings:
    """The Kafka topics, and how they are made when created."""

    PREFIX: ClassVar[str] = "TELEMETRY_"

    topic: str = setting("telemetry_data", "Kafka topic of telemetry events", parse=p.topic)
    dlq_topic: str = setting(
        "telemetry_data.dlq", "Kafka topic for undecodable records", parse=p.topic
    )
    window_topic: str = setting(
        "telemetry_window", "Kafka topic the job writes windows to", parse=p.topic
    )
    lap_topic: str = setting("telemetry_lap", "Kafka topic the job writes laps to", parse=p.topic)
    partitions: int = setting(
        "4", "Partitions of the telemetry topic when it is created", parse=p.positive_int
    )
    replication_factor: int = setting(
        "-1",
        "Replication factor of topics when created (-1: the brokers' default)",
        parse=p.replication,
        cluster="3",
    )
    min_insync_replicas: int = setting(
        "0",
        "min.insync.replicas of topics when created (0: the brokers' default)",
        parse=p.non_negative_int,
        cluster="2",
    )


@dataclass(frozen=True)
class LakeSettings:
    """The Iceberg catalog and its warehouse."""

    PREFIX: ClassVar[str] = "TELEMETRY_"

    bucket: str = setting(
        "telemetry-data", "Bucket of the lake (the Iceberg warehouse)", parse=p.bucket
    )
    # Checked, and derived when empty, by telemetry.core.config.
    catalog_uri: Secret = setting(
        "",
        "Iceberg catalog database, as pyiceberg's SQL catalog names it "
        "(local: sqlite:///<data dir>/iceberg/catalog.db)",
        env="PYICEBERG_CATALOG__TELEMETRY__URI",
    )
    warehouse: str = setting(
        "",
        "Where the tables' files go (default: s3://<TELEMETRY_BUCKET>/iceberg)",
        env="PYICEBERG_CATALOG__TELEMETRY__WAREHOUSE",
    )
    catalog_jdbc_url: Secret = setting(
        "",
        "The same catalog database for the JVM (Flink's JDBC catalog); default: derived "
        "from PYICEBERG_CATALOG__TELEMETRY__URI",
    )
    namespace: str = setting(
        "telemetry",
        "Iceberg namespace of the tables (windows, late_events); tests use private ones",
        parse=p.identifier,
    )


@dataclass(frozen=True)
class JobSettings:
    """The Flink job: event time, windows, checkpoints."""

    PREFIX: ClassVar[str] = "TELEMETRY_"

    checkpoint_bucket: str = setting(
        "flink-checkpoints", "Bucket for Flink checkpoints", parse=p.bucket
    )
    parallelism: int = setting(
        "0",
        "The job's parallelism (0: the Flink cluster's default)",
        parse=p.non_negative_int,
        cluster="4",
    )
    window_seconds: int = setting(
        "5", "Event-time tumbling window length (job)", parse=p.positive_int
    )
    out_of_orderness_seconds: int = setting(
        "2", "Watermark delay: how late an event may be", parse=p.non_negative_int
    )
    idle_timeout_seconds: int = setting(
        "3",
        "Kafka confirms a partition drained this long: event time follows the clock",
        parse=p.positive_int,
    )
    checkpoint_seconds: int = setting(
        "5", "Checkpoint interval: the tables and topics commit on it", parse=p.positive_int
    )
    window_schema_version: int = setting(
        "0",
        "telemetry_window-value version the job's files get (0: the latest)",
        parse=p.non_negative_int,
    )


@dataclass(frozen=True)
class ProducerSettings:
    """The producer's delivery."""

    PREFIX: ClassVar[str] = "TELEMETRY_"

    # Above Kafka's own 120 s (the Java producer's delivery.timeout.ms): a 90 s broker
    # outage plus its restart and the reconnect fit with a minute to spare.
    delivery_timeout_seconds: int = setting(
        "150",
        "How long the producer holds an event Kafka has not acknowledged before it fails",
        parse=p.positive_int,
    )


@dataclass(frozen=True)
class StackSettings:
    """The local stack: its folders, ports of its own, the live page and the JDKs."""

    PREFIX: ClassVar[str] = "TELEMETRY_"

    live_port: int = setting(
        "8090", "Port of the live timing page (`telemetry live`)", parse=p.port, cluster="18090"
    )
    minio_console_port: int = setting(
        "9001",
        "Port of the MinIO web console (local stack)",
        env="MINIO_CONSOLE_PORT",
        parse=p.port,
        cluster="19001",
    )
    kafka_controller_port: int = setting(
        "9093",
        "Port of the KRaft controller (local stack)",
        env="KAFKA_CONTROLLER_PORT",
        parse=p.port,
        cluster="19093",
    )
    data_dir: Path = setting(
        "", "All local stack state: logs, pid files, data", dynamic=_default_data_dir
    )
    cache_dir: Path = setting(
        "", "Downloaded servers and jars, shared by checkouts", dynamic=_default_cache_dir
    )
    java_home: str = setting(
        "", "JDK 17+ for Kafka and Flink (found on PATH if unset)", env="JAVA_HOME"
    )
    apicurio_java_home: str = setting(
        "", "JDK 21+ for Apicurio Registry (found if unset)", env="APICURIO_JAVA_HOME"
    )


# The components in `Settings`' order (its attribute names): `telemetry env`'s order.
COMPONENTS: dict[str, type] = {
    "kafka": KafkaSettings,
    "registry": RegistrySettings,
    "s3": S3Settings,
    "flink": FlinkSettings,
    "topics": TopicSettings,
    "lake": LakeSettings,
    "job": JobSettings,
    "producer": ProducerSettings,
    "stack": StackSettings,
}
