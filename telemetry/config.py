"""The one place that reads the environment.

Every setting has a conventional variable name and a local default that
matches the stack `telemetry up` starts. Malformed values fail at once with
the variable's name. Secrets print as `***`.

Two profiles of the local stack (TELEMETRY_PROFILE): `local`, one plaintext
node of each server (the fast default), and `cluster`, the production shape
(three SASL_SSL brokers, TLS everywhere, credentials required). The profile
chooses the defaults of the connection settings; the environment still wins.
A local stack generates its own random credentials at first start, in
`<TELEMETRY_DATA_DIR>/secrets.env` (mode 0600): they are the defaults of the
secret settings, and `telemetry env` prints them. With no S3 keys at all,
clients use the standard AWS credential chain (profile, instance or pod role).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import quote, urlsplit

from telemetry.errors import ConfigError

__all__ = [
    "CLUSTER_TLS_FILES",
    "ENV_VARS",
    "Secret",
    "Settings",
    "ci_annotations",
    "jdbc_url",
    "load_settings",
    "repo_root",
]


def repo_root() -> Path | None:
    """The checkout this package was installed from (editable install), if any."""
    candidate = Path(__file__).resolve().parents[1]
    return candidate if (candidate / "pyproject.toml").is_file() else None


def _default_data_dir(profile: str = "local") -> str:
    folder = ".data" if profile == "local" else f".data-{profile}"
    root = repo_root()
    if root is not None:
        return str(root / folder)
    return str(Path.home() / ".local" / "state" / "telemetry-pipeline" / profile)


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
    _Var("TELEMETRY_PROFILE", "local", "local: one plaintext node each; cluster: production shape"),
    _Var("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092", "Kafka bootstrap servers (host:port,...)"),
    _Var(
        "KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT",
        "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (every Kafka client, Python and JVM)",
    ),
    _Var("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"),
    _Var("KAFKA_SASL_USERNAME", "", "SASL user name (SASL_* protocols)"),
    _Var("KAFKA_SASL_PASSWORD", "", "SASL password (SASL_* protocols)", secret=True),
    _Var("KAFKA_SSL_CA_LOCATION", "", "PEM file of the CA that signed the brokers' certificates"),
    _Var(
        "SCHEMA_REGISTRY_URL",
        "http://127.0.0.1:8085/apis/ccompat/v7",
        "Confluent-compatible Schema Registry API",
    ),
    _Var(
        "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO",
        "",
        "user:password for the registry (Confluent's basic.auth.user.info)",
        secret=True,
    ),
    _Var("SCHEMA_REGISTRY_CA_LOCATION", "", "PEM file of the CA of an https registry"),
    _Var("S3_ENDPOINT_URL", "http://127.0.0.1:9000", "S3 API endpoint (MinIO); empty: AWS"),
    _Var(
        "AWS_ACCESS_KEY_ID",
        "",
        "S3 access key (local stack: generated); none: the AWS credential chain",
        secret=True,
    ),
    _Var("AWS_SECRET_ACCESS_KEY", "", "S3 secret key (local stack: generated)", secret=True),
    _Var("AWS_SESSION_TOKEN", "", "S3 session token of temporary credentials", secret=True),
    _Var(
        "S3_CA_LOCATION",
        "",
        "PEM file of the CA of an https S3 endpoint (unset: AWS_CA_BUNDLE or the system's)",
    ),
    _Var("S3_ADDRESSING_STYLE", "path", "path (MinIO) or virtual (bucket.host) addressing"),
    _Var("AWS_REGION", "us-east-1", "S3 region"),
    _Var("FLINK_REST_URL", "http://127.0.0.1:8081", "Flink JobManager REST API and Web UI"),
    _Var("FLINK_REST_CA_LOCATION", "", "PEM file of the CA of an https Flink REST API"),
    _Var(
        "FLINK_REST_CERT_LOCATION",
        "",
        "PEM client certificate for a Flink REST API that requires one (mutual TLS)",
    ),
    _Var(
        "FLINK_REST_KEY_LOCATION",
        "",
        "PEM private key of FLINK_REST_CERT_LOCATION (empty: in the certificate's file)",
    ),
    _Var(
        "FLINK_REST_KEY_PASSWORD",
        "",
        "Password of an encrypted FLINK_REST_KEY_LOCATION (cluster: also of the browser's "
        "client-flink.p12)",
        secret=True,
    ),
    _Var("TELEMETRY_TOPIC", "telemetry_data", "Kafka topic of telemetry events"),
    _Var("TELEMETRY_DLQ_TOPIC", "telemetry_data.dlq", "Kafka topic for undecodable records"),
    _Var("TELEMETRY_WINDOW_TOPIC", "telemetry_window", "Kafka topic the job writes windows to"),
    _Var("TELEMETRY_LAP_TOPIC", "telemetry_lap", "Kafka topic the job writes laps to"),
    _Var("TELEMETRY_LIVE_PORT", "8090", "Port of the live timing page (`telemetry live`)"),
    _Var("TELEMETRY_BUCKET", "telemetry-data", "Bucket of the lake (the Iceberg warehouse)"),
    _Var("TELEMETRY_CHECKPOINT_BUCKET", "flink-checkpoints", "Bucket for Flink checkpoints"),
    _Var(
        "PYICEBERG_CATALOG__TELEMETRY__URI",
        "",
        "Iceberg catalog database, as pyiceberg's SQL catalog names it "
        "(local: sqlite:///<data dir>/iceberg/catalog.db)",
        secret=True,
    ),
    _Var(
        "PYICEBERG_CATALOG__TELEMETRY__WAREHOUSE",
        "",
        "Where the tables' files go (default: s3://<TELEMETRY_BUCKET>/iceberg)",
    ),
    _Var(
        "TELEMETRY_CATALOG_JDBC_URL",
        "",
        "The same catalog database for the JVM (Flink's JDBC catalog); default: derived "
        "from PYICEBERG_CATALOG__TELEMETRY__URI",
        secret=True,
    ),
    _Var(
        "TELEMETRY_NAMESPACE",
        "telemetry",
        "Iceberg namespace of the tables (windows, late_events); tests use private ones",
    ),
    _Var("TELEMETRY_PARTITIONS", "4", "Partitions of the telemetry topic when it is created"),
    _Var(
        "TELEMETRY_REPLICATION_FACTOR",
        "-1",
        "Replication factor of topics when created (-1: the brokers' default)",
    ),
    _Var(
        "TELEMETRY_MIN_INSYNC_REPLICAS",
        "0",
        "min.insync.replicas of topics when created (0: the brokers' default)",
    ),
    _Var("TELEMETRY_PARALLELISM", "0", "The job's parallelism (0: the Flink cluster's default)"),
    _Var("TELEMETRY_WINDOW_SECONDS", "5", "Event-time tumbling window length (job)"),
    _Var("TELEMETRY_OUT_OF_ORDERNESS_SECONDS", "2", "Watermark delay: how late an event may be"),
    _Var(
        "TELEMETRY_IDLE_TIMEOUT_SECONDS",
        "3",
        "Kafka confirms a partition drained this long: event time follows the clock",
    ),
    _Var("TELEMETRY_CHECKPOINT_SECONDS", "5", "Checkpoint interval: Parquet files commit on it"),
    # Above Kafka's own 120 s (the Java producer's delivery.timeout.ms): a 90 s broker
    # outage plus its restart and the reconnect fit with a minute to spare.
    _Var(
        "TELEMETRY_DELIVERY_TIMEOUT_SECONDS",
        "150",
        "How long the producer holds an event Kafka has not acknowledged before it fails",
    ),
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

_DYNAMIC_DEFAULTS: dict[str, Callable[[], str]] = {"TELEMETRY_CACHE_DIR": _default_cache_dir}

PROFILES = ("local", "cluster")
SECRETS_FILE = "secrets.env"

# The cluster profile's defaults (`make up PROFILE=cluster`): every server on
# other ports than the local profile's, so both stacks can run side by side.
_CLUSTER_DEFAULTS = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:19092,127.0.0.1:19192,127.0.0.1:19292",
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_USERNAME": "telemetry",
    "KAFKA_CONTROLLER_PORT": "19093",
    "SCHEMA_REGISTRY_URL": "https://127.0.0.1:18443/apis/ccompat/v7",
    "S3_ENDPOINT_URL": "https://127.0.0.1:19000",
    "MINIO_CONSOLE_PORT": "19001",
    "FLINK_REST_URL": "https://127.0.0.1:18081",
    "TELEMETRY_LIVE_PORT": "18090",
    "TELEMETRY_REPLICATION_FACTOR": "3",
    "TELEMETRY_MIN_INSYNC_REPLICAS": "2",
    "TELEMETRY_PARALLELISM": "4",
}
# Files of the cluster profile's own certificate authority in <data>/tls (made at
# first start, telemetry.stack.tls): the CA every client trusts, and the Flink REST
# API's client certificate (its key encrypted with FLINK_REST_KEY_PASSWORD).
CLUSTER_TLS_FILES = {
    "KAFKA_SSL_CA_LOCATION": "ca.pem",
    "SCHEMA_REGISTRY_CA_LOCATION": "ca.pem",
    "S3_CA_LOCATION": "ca.pem",
    "FLINK_REST_CA_LOCATION": "ca.pem",
    "FLINK_REST_CERT_LOCATION": "client-flink.pem",
    "FLINK_REST_KEY_LOCATION": "client-flink.key",
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


def _identifier(name: str, value: str) -> str:
    if (
        not value
        or not (value[0].isalpha() or value[0] == "_")
        or any(not (c.isascii() and (c.isalnum() or c == "_")) for c in value)
    ):
        raise ConfigError(
            f"{name}={value!r} is not an Iceberg namespace we create: letters, digits and _, "
            "starting with a letter or _"
        )
    return value.lower()


def _topic(name: str, value: str) -> str:
    if not value or len(value) > 249 or any(not (c.isalnum() or c in "._-") for c in value):
        raise ConfigError(f"{name}={value!r} is not a valid Kafka topic name")
    return value


@dataclass(frozen=True)
class Settings:
    """Effective configuration. Build it with `load_settings()`."""

    telemetry_profile: str
    kafka_bootstrap_servers: str
    kafka_security_protocol: str
    kafka_sasl_mechanism: str
    kafka_sasl_username: str
    kafka_sasl_password: Secret = field(repr=False)
    kafka_ssl_ca_location: str
    schema_registry_url: str
    schema_registry_basic_auth_user_info: Secret = field(repr=False)
    schema_registry_ca_location: str
    s3_endpoint_url: str
    aws_access_key_id: Secret = field(repr=False)
    aws_secret_access_key: Secret = field(repr=False)
    aws_session_token: Secret = field(repr=False)
    s3_ca_location: str
    s3_addressing_style: str
    aws_region: str
    flink_rest_url: str
    flink_rest_ca_location: str
    flink_rest_cert_location: str
    flink_rest_key_location: str
    flink_rest_key_password: Secret = field(repr=False)
    telemetry_topic: str
    telemetry_dlq_topic: str
    telemetry_window_topic: str
    telemetry_lap_topic: str
    telemetry_live_port: int
    telemetry_bucket: str
    telemetry_checkpoint_bucket: str
    pyiceberg_catalog__telemetry__uri: Secret = field(repr=False)
    pyiceberg_catalog__telemetry__warehouse: str
    telemetry_catalog_jdbc_url: Secret = field(repr=False)
    telemetry_namespace: str
    telemetry_partitions: int
    telemetry_replication_factor: int
    telemetry_min_insync_replicas: int
    telemetry_parallelism: int
    telemetry_window_seconds: int
    telemetry_out_of_orderness_seconds: int
    telemetry_idle_timeout_seconds: int
    telemetry_checkpoint_seconds: int
    telemetry_delivery_timeout_seconds: int
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
        scheme = urlsplit(self.s3_endpoint_url).scheme or "http"
        return f"{scheme}://{host}:{self.minio_console_port}"

    def items(self) -> Iterator[tuple[str, str, bool]]:
        """(variable name, value as text, is secret) for every setting."""
        for f in fields(self):
            value = getattr(self, f.name)
            text = value.reveal() if isinstance(value, Secret) else str(value)
            yield f.name.upper(), text, isinstance(value, Secret)


def _one_of(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, value: str) -> str:
        if value.upper() not in choices and value not in choices:
            raise ConfigError(f"{name}={value!r} must be one of {', '.join(choices)}")
        return value.upper() if value.upper() in choices else value

    return parse


def _pem_file(name: str, value: str) -> str:
    if value and not Path(value).expanduser().is_file():
        what = "a PEM CA file" if name.endswith("_CA_LOCATION") else "a PEM file"
        raise ConfigError(f"{name}={value!r} is not a file; give the path of {what}")
    return str(Path(value).expanduser()) if value else ""


def _replication(name: str, value: str) -> int:
    number = _int_at_least(-1)(name, value)
    if number == 0:
        raise ConfigError(f"{name}=0 is not a replication factor; use -1 for the brokers' default")
    return number


_PARSERS = {
    "TELEMETRY_PROFILE": lambda n, v: _one_of(*PROFILES)(n, v.lower()),
    "KAFKA_SECURITY_PROTOCOL": _one_of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
    "KAFKA_SASL_MECHANISM": _one_of("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
    "KAFKA_SSL_CA_LOCATION": _pem_file,
    "SCHEMA_REGISTRY_CA_LOCATION": _pem_file,
    "S3_CA_LOCATION": _pem_file,
    "FLINK_REST_CA_LOCATION": _pem_file,
    "FLINK_REST_CERT_LOCATION": _pem_file,
    "FLINK_REST_KEY_LOCATION": _pem_file,
    "S3_ADDRESSING_STYLE": lambda n, v: _one_of("path", "virtual")(n, v.lower()),
    "TELEMETRY_REPLICATION_FACTOR": _replication,
    "TELEMETRY_MIN_INSYNC_REPLICAS": _int_at_least(0),
    "TELEMETRY_PARALLELISM": _int_at_least(0),
    "KAFKA_BOOTSTRAP_SERVERS": _bootstrap,
    "SCHEMA_REGISTRY_URL": _url,
    "S3_ENDPOINT_URL": _url,
    "FLINK_REST_URL": _url,
    "TELEMETRY_TOPIC": _topic,
    "TELEMETRY_NAMESPACE": lambda n, v: _identifier(n, v),
    "TELEMETRY_DLQ_TOPIC": _topic,
    "TELEMETRY_WINDOW_TOPIC": _topic,
    "TELEMETRY_LAP_TOPIC": _topic,
    "TELEMETRY_LIVE_PORT": _port,
    "TELEMETRY_BUCKET": _bucket,
    "TELEMETRY_CHECKPOINT_BUCKET": _bucket,
    "TELEMETRY_PARTITIONS": _positive_int,
    "TELEMETRY_WINDOW_SECONDS": _positive_int,
    "TELEMETRY_OUT_OF_ORDERNESS_SECONDS": _non_negative_int,
    "TELEMETRY_IDLE_TIMEOUT_SECONDS": _positive_int,
    "TELEMETRY_CHECKPOINT_SECONDS": _positive_int,
    "TELEMETRY_DELIVERY_TIMEOUT_SECONDS": _positive_int,
    "TELEMETRY_WINDOW_SCHEMA_VERSION": _non_negative_int,
    "MINIO_CONSOLE_PORT": _port,
    "KAFKA_CONTROLLER_PORT": _port,
    "TELEMETRY_DATA_DIR": lambda _n, v: Path(v).expanduser().absolute(),
    "TELEMETRY_CACHE_DIR": lambda _n, v: Path(v).expanduser().absolute(),
}


def stored_secrets(data_dir: Path) -> dict[str, str]:
    """The credentials a local stack generated for itself (`<data dir>/secrets.env`)."""
    import shlex

    path = data_dir / SECRETS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    stored = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() and not name.lstrip().startswith("#"):
            stored[name.strip()] = " ".join(shlex.split(value)) if value.strip() else ""
    return stored


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from `environ` (default: the process environment)."""
    env = os.environ if environ is None else environ
    raw_profile = env.get("TELEMETRY_PROFILE", "").strip() or "local"
    profile = str(_PARSERS["TELEMETRY_PROFILE"]("TELEMETRY_PROFILE", raw_profile))
    data_dir_raw = env.get("TELEMETRY_DATA_DIR", "").strip() or _default_data_dir(profile)
    data_dir = Path(data_dir_raw).expanduser().absolute()
    stored = stored_secrets(data_dir)
    profile_defaults = _CLUSTER_DEFAULTS if profile == "cluster" else {}
    values: dict[str, object] = {}
    for var in ENV_VARS:
        raw = env.get(var.name, "").strip()
        if not raw and var.secret:
            raw = stored.get(var.name, "")
        if not raw:
            if var.name == "TELEMETRY_DATA_DIR":
                raw = str(data_dir)
            elif profile == "cluster" and var.name in CLUSTER_TLS_FILES:
                path = data_dir / "tls" / CLUSTER_TLS_FILES[var.name]
                raw = str(path) if path.is_file() else ""
            elif var.name in profile_defaults:
                raw = profile_defaults[var.name]
            else:
                default = _DYNAMIC_DEFAULTS.get(var.name)
                raw = default() if default else var.default
        parser = _PARSERS.get(var.name)
        value: object = parser(var.name, raw) if parser else raw
        if var.secret:
            value = Secret(raw)
        values[var.name.lower()] = value
    _derive_catalog(values, data_dir)
    return Settings(**values)  # type: ignore[arg-type]


def _derive_catalog(values: dict[str, object], data_dir: Path) -> None:
    """Defaults of the Iceberg catalog settings that follow from other settings."""
    cluster = _cluster_catalog(data_dir) if values["telemetry_profile"] == "cluster" else None
    uri = str(values["pyiceberg_catalog__telemetry__uri"]) or (
        cluster[0] if cluster else f"sqlite:///{data_dir / 'iceberg' / 'catalog.db'}"
    )
    values["pyiceberg_catalog__telemetry__uri"] = Secret(_catalog_uri(uri))
    if not values["pyiceberg_catalog__telemetry__warehouse"]:
        values["pyiceberg_catalog__telemetry__warehouse"] = (
            f"s3://{values['telemetry_bucket']}/iceberg"
        )
    jdbc = str(values["telemetry_catalog_jdbc_url"]) or (
        cluster[1] if cluster and uri == cluster[0] else jdbc_url(uri)
    )
    values["telemetry_catalog_jdbc_url"] = Secret(jdbc)


def _cluster_catalog(data_dir: Path) -> tuple[str, str]:
    """The cluster profile's catalog URLs (SQLAlchemy, JDBC): its PostgreSQL on 15432
    (telemetry.stack.postgres), by the client certificate in <data>/tls: libpq reads
    the PEM key, the JDBC driver the same key as PKCS#8 DER (.pk8)."""
    tls = {n: quote(str(data_dir / "tls" / n), safe="/") for n in ("ca.pem", "client-telemetry")}
    ssl = f"sslmode=verify-full&sslrootcert={tls['ca.pem']}&sslcert={tls['client-telemetry']}.pem"
    where = "telemetry@127.0.0.1:15432/iceberg"
    return (
        f"postgresql+psycopg2://{where}?{ssl}&sslkey={tls['client-telemetry']}.key",
        f"jdbc:postgresql://{where.split('@')[1]}?user=telemetry&{ssl}"
        f"&sslkey={tls['client-telemetry']}.pk8",
    )


def _catalog_uri(value: str) -> str:
    name = "PYICEBERG_CATALOG__TELEMETRY__URI"
    if not value.startswith(("sqlite:///", "postgresql://", "postgresql+")):
        raise ConfigError(
            f"{name} must be an SQL catalog URL, sqlite:///PATH or postgresql://USER@HOST/DB, "
            f"not {urlsplit(value).scheme or value!r}"
        )
    return value


def jdbc_url(uri: str) -> str:
    """The JDBC URL of the catalog database an SQLAlchemy URL names (as pyiceberg takes it).

    sqlite:///PATH -> jdbc:sqlite:PATH; postgresql[+driver]://USER[:PW]@HOST[:PORT]/DB?Q ->
    jdbc:postgresql://HOST[:PORT]/DB?user=USER[&password=PW]&Q (libpq's ssl* names are pgjdbc's).
    """
    if uri.startswith("sqlite:///"):
        return "jdbc:sqlite:" + uri[len("sqlite:///") :].split("?", 1)[0]
    parts = urlsplit(uri)
    query = [f"user={parts.username}"] if parts.username else []
    if parts.password:
        query.append(f"password={parts.password}")
    if parts.query:
        query.append(parts.query)
    host = parts.hostname or "localhost"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return f"jdbc:postgresql://{netloc}{parts.path}" + ("?" + "&".join(query) if query else "")


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
