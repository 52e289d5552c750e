"""The one place that reads the environment.

Every setting has a conventional variable name and a local default that
matches the stack `telemetry up` starts. Malformed values fail at once with
the variable's name. Secrets print as `***`.

Each setting is declared once, as a field of `Settings`: the field's name in
capitals is the variable, its type the value's (`Secret` for a secret), and
`setting(...)` gives the local default, the meaning, the parser and the cluster
profile's default. `ENV_VARS` (what `telemetry env` and the README's table
list) is read off those fields.

Two profiles of the local stack (TELEMETRY_PROFILE): `local`, one plaintext
node of each server (the fast default), and `cluster`, the production shape
(three SASL_SSL brokers, TLS everywhere, credentials required). The profile
chooses the defaults of the connection settings; the environment still wins.
A local stack generates its own random credentials at first start, in
`<TELEMETRY_DATA_DIR>/secrets.env` (mode 0600): they are the defaults of the
secret settings, and `telemetry env` prints them. With no S3 keys at all,
clients use the standard AWS credential chain (profile, instance or pod role).

Profiles never cross. A data folder belongs to the profile that first started a
stack in it (`<data dir>/stack-profile`); loading another profile's settings on
it fails, naming the variable that pointed there. `telemetry env` marks what it
prints: TELEMETRY_ENV_PROFILE names its profile and TELEMETRY_ENV_DEFAULTS the
variables whose values were that profile's defaults (not the environment's).
Under another profile those variables count as unset, so an exported `telemetry
env` of one profile never steers another (`make up PROFILE=cluster` after
`eval "$(telemetry env)"`); a variable the user set before still wins.

Other modules never read `os.environ` (tests/unit/test_environment_reads.py
holds them to it): they get `Settings`, or ask a function here
(`ci_annotations`, `ssl_cert_file`, `inherited_environ`) for the variables of
other tools.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from telemetry.core.errors import ConfigError, InvalidInputError

__all__ = [
    "CLUSTER_TLS_FILES",
    "ENV_VARS",
    "Secret",
    "Settings",
    "Var",
    "bundled",
    "ci_annotations",
    "data_dir_owner",
    "env_marks",
    "inherited_environ",
    "jdbc_url",
    "load_settings",
    "ssl_cert_file",
]

PROFILES = ("local", "cluster")
SECRETS_FILE = "secrets.env"
# The profile a data folder belongs to, written when a stack first starts in it.
PROFILE_FILE = "stack-profile"
# What `telemetry env` marks its exports with (see the module's docstring).
ENV_PROFILE_MARK = "TELEMETRY_ENV_PROFILE"
ENV_DEFAULTS_MARK = "TELEMETRY_ENV_DEFAULTS"
# All a local profile's secrets file holds (MinIO's root user is its clients' user).
_LOCAL_SECRETS = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"})


BUNDLED = ("schemas", "infra", "flink")


def bundled(name: str) -> Path:
    """The folder `name` of BUNDLED that ships inside the package (telemetry._bundled):
    the installed copy, or in an editable install the checkout's own (pyproject.toml)."""
    if name not in BUNDLED:
        raise ValueError(f"{name!r} is not one of {BUNDLED}")
    try:
        folder = importlib.resources.files(f"telemetry._bundled.{name}")
    except ModuleNotFoundError:
        folder = None
    if not isinstance(folder, Path) or not folder.is_dir():
        raise InvalidInputError(
            f"this installation of telemetry has no {name}/ folder: reinstall it (`make venv` in a "
            "checkout, `pip install .` elsewhere)"
        )
    return folder


def _checkout() -> Path | None:
    """The checkout of an editable install, if this is one: the data directory's default
    lives in it. Nothing else depends on it (the package's own folders: `bundled`)."""
    candidate = Path(__file__).resolve().parents[2]
    return candidate if (candidate / "pyproject.toml").is_file() else None


# Secrets ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class Secret:
    """A credential that shows itself only when asked: `secret.reveal()`.

    str(), repr(), format() (f-strings, `%s`, `str.format`) and so logging all
    give `***`; it is no str, so it cannot slip into a URL, a dict for a client
    or a child's environment unrevealed (a type error, or `***`, shows where).
    It is true when set, so `if settings.kafka_sasl_password:` asks whether there
    is one without revealing it.
    """

    _value: str

    def __post_init__(self) -> None:
        if not isinstance(self._value, str):
            raise TypeError(f"a Secret holds a str, not {type(self._value).__name__}")

    def reveal(self) -> str:
        """The value itself: call it where a client, file or child process needs it."""
        return self._value

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "'***'"

    def __format__(self, spec: str) -> str:
        return format("***", spec)

    def __bool__(self) -> bool:
        return bool(self._value)


# Parsers: (variable name, raw text) -> value, or a one-line ConfigError ----------

Parser = Callable[[str, str], Any]


def _text(_name: str, value: str) -> str:
    return value


def _secret(_name: str, value: str) -> Secret:
    return Secret(value)


def _path(_name: str, value: str) -> Path:
    return Path(value).expanduser().absolute()


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


def _replication(name: str, value: str) -> int:
    number = _int_at_least(-1)(name, value)
    if number == 0:
        raise ConfigError(f"{name}=0 is not a replication factor; use -1 for the brokers' default")
    return number


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


def _one_of(*choices: str, fold: Callable[[str], str] = str) -> Parser:
    def parse(name: str, value: str) -> str:
        value = fold(value)
        if value.upper() not in choices and value not in choices:
            raise ConfigError(f"{name}={value!r} must be one of {', '.join(choices)}")
        return value.upper() if value.upper() in choices else value

    return parse


def _pem_file(name: str, value: str) -> str:
    if value and not Path(value).expanduser().is_file():
        what = "a PEM CA file" if name.endswith("_CA_LOCATION") else "a PEM file"
        raise ConfigError(f"{name}={value!r} is not a file; give the path of {what}")
    return str(Path(value).expanduser()) if value else ""


# Defaults computed when the settings are loaded: (environment, profile) -> text ----

DynamicDefault = Callable[[Mapping[str, str], str], str]


def _default_data_dir(_env: Mapping[str, str], profile: str) -> str:
    folder = ".data" if profile == "local" else f".data-{profile}"
    root = _checkout()
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


# Declarations ----------------------------------------------------------------------

_DECLARATION = "telemetry.setting"


@dataclass(frozen=True)
class _Declared:
    default: str
    doc: str
    parse: Parser | None
    cluster: str | None
    cluster_tls: str | None
    dynamic: DynamicDefault | None


def setting(
    default: str,
    doc: str,
    *,
    parse: Parser | None = None,
    cluster: str | None = None,
    cluster_tls: str | None = None,
    dynamic: DynamicDefault | None = None,
) -> Any:
    """A field of `Settings` with everything about its variable but the name and type.

    default: the local profile's (text, as in the environment); doc: one line for
    `telemetry env --describe`; parse: (name, text) -> value (default: by the field's
    type: str as is, Path made absolute, Secret wrapped); cluster: the cluster profile's
    default; cluster_tls: a file of `<data dir>/tls` the cluster profile defaults to
    when it exists; dynamic: a default computed at load time from (environment, profile).
    """
    declared = _Declared(default, doc, parse, cluster, cluster_tls, dynamic)
    return field(metadata={_DECLARATION: declared})


@dataclass(frozen=True)
class Var:
    """One setting's variable, as `Settings` declares it (see `setting`)."""

    name: str
    default: str
    doc: str
    secret: bool
    parse: Parser
    cluster: str | None = None
    cluster_tls: str | None = None
    dynamic: DynamicDefault | None = None

    def default_for(self, env: Mapping[str, str], profile: str, data_dir: Path) -> str:
        """The text this variable has when the environment (and secrets file) leave it empty."""
        if profile == "cluster" and self.cluster_tls:
            path = data_dir / "tls" / self.cluster_tls
            return str(path) if path.is_file() else ""
        if profile == "cluster" and self.cluster is not None:
            return self.cluster
        return self.dynamic(env, profile) if self.dynamic else self.default


# Settings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Effective configuration. Build it with `load_settings()`.

    The fields are the declarations (see `setting`); their order is `telemetry env`'s.
    """

    telemetry_profile: str = setting(
        "local",
        "local: one plaintext node each; cluster: production shape",
        parse=_one_of(*PROFILES, fold=str.lower),
    )
    kafka_bootstrap_servers: str = setting(
        "127.0.0.1:9092",
        "Kafka bootstrap servers (host:port,...)",
        parse=_bootstrap,
        cluster="127.0.0.1:19092,127.0.0.1:19192,127.0.0.1:19292",
    )
    kafka_security_protocol: str = setting(
        "PLAINTEXT",
        "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (every Kafka client, Python and JVM)",
        parse=_one_of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
        cluster="SASL_SSL",
    )
    kafka_sasl_mechanism: str = setting(
        "SCRAM-SHA-512",
        "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
        parse=_one_of("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
    )
    kafka_sasl_username: str = setting("", "SASL user name (SASL_* protocols)", cluster="telemetry")
    kafka_sasl_password: Secret = setting("", "SASL password (SASL_* protocols)")
    kafka_ssl_ca_location: str = setting(
        "",
        "PEM file of the CA that signed the brokers' certificates",
        parse=_pem_file,
        cluster_tls="ca.pem",
    )
    schema_registry_url: str = setting(
        "http://127.0.0.1:8085/apis/ccompat/v7",
        "Confluent-compatible Schema Registry API",
        parse=_url,
        cluster="https://127.0.0.1:18443/apis/ccompat/v7",
    )
    schema_registry_basic_auth_user_info: Secret = setting(
        "", "user:password for the registry (Confluent's basic.auth.user.info)"
    )
    schema_registry_ca_location: str = setting(
        "", "PEM file of the CA of an https registry", parse=_pem_file, cluster_tls="ca.pem"
    )
    s3_endpoint_url: str = setting(
        "http://127.0.0.1:9000",
        "S3 API endpoint (MinIO); empty: AWS",
        parse=_url,
        cluster="https://127.0.0.1:19000",
    )
    aws_access_key_id: Secret = setting(
        "", "S3 access key (local stack: generated); none: the AWS credential chain"
    )
    aws_secret_access_key: Secret = setting("", "S3 secret key (local stack: generated)")
    aws_session_token: Secret = setting("", "S3 session token of temporary credentials")
    s3_ca_location: str = setting(
        "",
        "PEM file of the CA of an https S3 endpoint (unset: AWS_CA_BUNDLE or the system's)",
        parse=_pem_file,
        cluster_tls="ca.pem",
    )
    s3_addressing_style: str = setting(
        "path",
        "path (MinIO) or virtual (bucket.host) addressing",
        parse=_one_of("path", "virtual", fold=str.lower),
    )
    aws_region: str = setting("us-east-1", "S3 region")
    flink_rest_url: str = setting(
        "http://127.0.0.1:8081",
        "Flink JobManager REST API and Web UI",
        parse=_url,
        cluster="https://127.0.0.1:18081",
    )
    flink_rest_ca_location: str = setting(
        "", "PEM file of the CA of an https Flink REST API", parse=_pem_file, cluster_tls="ca.pem"
    )
    flink_rest_cert_location: str = setting(
        "",
        "PEM client certificate for a Flink REST API that requires one (mutual TLS)",
        parse=_pem_file,
        cluster_tls="client-flink.pem",
    )
    flink_rest_key_location: str = setting(
        "",
        "PEM private key of FLINK_REST_CERT_LOCATION (empty: in the certificate's file)",
        parse=_pem_file,
        cluster_tls="client-flink.key",
    )
    flink_rest_key_password: Secret = setting(
        "",
        "Password of an encrypted FLINK_REST_KEY_LOCATION (cluster: also of the browser's "
        "client-flink.p12)",
    )
    flink_conf_dir: str = setting(
        "",
        "Flink client configuration a job is submitted with (set by `flink run` and the "
        "in-process client: the assembled Flink home's conf/)",
    )
    telemetry_topic: str = setting(
        "telemetry_data", "Kafka topic of telemetry events", parse=_topic
    )
    telemetry_dlq_topic: str = setting(
        "telemetry_data.dlq", "Kafka topic for undecodable records", parse=_topic
    )
    telemetry_window_topic: str = setting(
        "telemetry_window", "Kafka topic the job writes windows to", parse=_topic
    )
    telemetry_lap_topic: str = setting(
        "telemetry_lap", "Kafka topic the job writes laps to", parse=_topic
    )
    telemetry_live_port: int = setting(
        "8090", "Port of the live timing page (`telemetry live`)", parse=_port, cluster="18090"
    )
    telemetry_bucket: str = setting(
        "telemetry-data", "Bucket of the lake (the Iceberg warehouse)", parse=_bucket
    )
    telemetry_checkpoint_bucket: str = setting(
        "flink-checkpoints", "Bucket for Flink checkpoints", parse=_bucket
    )
    # Validated, and derived when empty, by _derive_catalog.
    pyiceberg_catalog__telemetry__uri: Secret = setting(
        "",
        "Iceberg catalog database, as pyiceberg's SQL catalog names it "
        "(local: sqlite:///<data dir>/iceberg/catalog.db)",
    )
    pyiceberg_catalog__telemetry__warehouse: str = setting(
        "", "Where the tables' files go (default: s3://<TELEMETRY_BUCKET>/iceberg)"
    )
    telemetry_catalog_jdbc_url: Secret = setting(
        "",
        "The same catalog database for the JVM (Flink's JDBC catalog); default: derived "
        "from PYICEBERG_CATALOG__TELEMETRY__URI",
    )
    telemetry_namespace: str = setting(
        "telemetry",
        "Iceberg namespace of the tables (windows, late_events); tests use private ones",
        parse=_identifier,
    )
    telemetry_partitions: int = setting(
        "4", "Partitions of the telemetry topic when it is created", parse=_positive_int
    )
    telemetry_replication_factor: int = setting(
        "-1",
        "Replication factor of topics when created (-1: the brokers' default)",
        parse=_replication,
        cluster="3",
    )
    telemetry_min_insync_replicas: int = setting(
        "0",
        "min.insync.replicas of topics when created (0: the brokers' default)",
        parse=_non_negative_int,
        cluster="2",
    )
    telemetry_parallelism: int = setting(
        "0",
        "The job's parallelism (0: the Flink cluster's default)",
        parse=_non_negative_int,
        cluster="4",
    )
    telemetry_window_seconds: int = setting(
        "5", "Event-time tumbling window length (job)", parse=_positive_int
    )
    telemetry_out_of_orderness_seconds: int = setting(
        "2", "Watermark delay: how late an event may be", parse=_non_negative_int
    )
    telemetry_idle_timeout_seconds: int = setting(
        "3",
        "Kafka confirms a partition drained this long: event time follows the clock",
        parse=_positive_int,
    )
    telemetry_checkpoint_seconds: int = setting(
        "5", "Checkpoint interval: the tables and topics commit on it", parse=_positive_int
    )
    # Above Kafka's own 120 s (the Java producer's delivery.timeout.ms): a 90 s broker
    # outage plus its restart and the reconnect fit with a minute to spare.
    telemetry_delivery_timeout_seconds: int = setting(
        "150",
        "How long the producer holds an event Kafka has not acknowledged before it fails",
        parse=_positive_int,
    )
    telemetry_window_schema_version: int = setting(
        "0",
        "telemetry_window-value version the job's files get (0: the latest)",
        parse=_non_negative_int,
    )
    minio_console_port: int = setting(
        "9001", "Port of the MinIO web console (local stack)", parse=_port, cluster="19001"
    )
    kafka_controller_port: int = setting(
        "9093", "Port of the KRaft controller (local stack)", parse=_port, cluster="19093"
    )
    telemetry_data_dir: Path = setting(
        "", "All local stack state: logs, pid files, data", dynamic=_default_data_dir
    )
    telemetry_cache_dir: Path = setting(
        "", "Downloaded servers and jars, shared by checkouts", dynamic=_default_cache_dir
    )
    telemetry_schemas_dir: str = setting(
        "",
        "Folder of the Avro schemas and their subjects.toml (default: the package's schemas/)",
        dynamic=_default_schemas_dir,
    )
    java_home: str = setting("", "JDK 17+ for Kafka and Flink (found on PATH if unset)")
    apicurio_java_home: str = setting("", "JDK 21+ for Apicurio Registry (found if unset)")

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
        """(variable name, value as text, is secret) for every setting.

        Secrets revealed: this is what `telemetry env` exports for a shell.
        """
        for f in fields(self):
            value = getattr(self, f.name)
            text = value.reveal() if isinstance(value, Secret) else str(value)
            yield f.name.upper(), text, isinstance(value, Secret)


_DEFAULT_PARSERS: dict[type, Parser] = {str: _text, Secret: _secret, Path: _path}


def _variables() -> tuple[Var, ...]:
    """Every field's declaration as its variable (the parser by type where none is given)."""
    types = typing.get_type_hints(Settings)
    found = []
    for f in fields(Settings):
        declared: _Declared = f.metadata[_DECLARATION]
        kind = types[f.name]
        parse = declared.parse or _DEFAULT_PARSERS.get(kind)
        if parse is None:
            raise TypeError(f"Settings.{f.name}: a {kind.__name__} setting needs parse=")
        found.append(
            Var(
                name=f.name.upper(),
                default=declared.default,
                doc=declared.doc,
                secret=kind is Secret,
                parse=parse,
                cluster=declared.cluster,
                cluster_tls=declared.cluster_tls,
                dynamic=declared.dynamic,
            )
        )
    return tuple(found)


# Every setting's variable, in the fields' order. The README's configuration table is this list.
ENV_VARS: tuple[Var, ...] = _variables()
_BY_NAME = {var.name: var for var in ENV_VARS}

# Files of the cluster profile's own certificate authority in <data>/tls (made at
# first start, telemetry.ops.stack.tls): the CA every client trusts, and the Flink REST
# API's client certificate (its key encrypted with FLINK_REST_KEY_PASSWORD).
CLUSTER_TLS_FILES: dict[str, str] = {v.name: v.cluster_tls for v in ENV_VARS if v.cluster_tls}


# Loading ---------------------------------------------------------------------------


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
    """Read every setting from `environ` (default: the process environment).

    A variable's text is the environment's, else (a secret) the stack's secrets
    file's, else its default for the profile (see `Var.default_for`). What an
    exported `telemetry env` of another profile set counts as unset, and a data
    folder of another profile is refused (the module's docstring).
    """
    env = os.environ if environ is None else environ
    profile = _profile(env)
    env = _without_other_profiles_exports(env, profile)
    data_var = _BY_NAME["TELEMETRY_DATA_DIR"]
    raw_data_dir = env.get(data_var.name, "").strip()
    data_dir: Path = data_var.parse(
        data_var.name, raw_data_dir or data_var.default_for(env, profile, Path())
    )
    _check_owner(data_dir, profile, data_var.name if raw_data_dir else None)
    stored = stored_secrets(data_dir)
    values: dict[str, Any] = {}
    for var in ENV_VARS:
        raw = env.get(var.name, "").strip()
        if not raw and var.secret:
            raw = stored.get(var.name, "")
        if not raw:
            raw = str(data_dir) if var is data_var else var.default_for(env, profile, data_dir)
        values[var.name.lower()] = var.parse(var.name, raw)
    _derive_catalog(values, data_dir)
    return Settings(**values)


def _profile(env: Mapping[str, str]) -> str:
    var = _BY_NAME["TELEMETRY_PROFILE"]
    profile: str = var.parse(var.name, env.get(var.name, "").strip() or "local")
    return profile


def _without_other_profiles_exports(env: Mapping[str, str], profile: str) -> Mapping[str, str]:
    """`env` less what an exported `telemetry env` of another profile set and nobody changed."""
    marked = env.get(ENV_PROFILE_MARK, "").strip().lower()
    if not marked or marked == profile:
        return env
    printed = _marked_defaults(env)
    return {
        name: value
        for name, value in env.items()
        if printed.get(name) != _fingerprint(value.strip())
    }


def _fingerprint(value: str) -> str:
    """Tells a printed value from one set since; short, so it gives no secret away."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]


def _marked_defaults(env: Mapping[str, str]) -> dict[str, str]:
    """TELEMETRY_ENV_DEFAULTS: name -> fingerprint of the value printed."""
    entries = (entry.partition(":") for entry in env.get(ENV_DEFAULTS_MARK, "").split())
    return {name: fingerprint for name, _sep, fingerprint in entries}


def env_marks(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The marks `telemetry env` ends its exports with: their profile, and each variable
    whose value it prints from the profile's defaults, not from the environment."""
    env = os.environ if environ is None else environ
    kept = _without_other_profiles_exports(env, settings.telemetry_profile)
    printed = _marked_defaults(kept) if kept is env else {}
    defaults = []
    for name, value, _secret in settings.items():
        own = kept.get(name, "").strip()
        if name != "TELEMETRY_PROFILE" and (not own or printed.get(name) == _fingerprint(own)):
            defaults.append(f"{name}:{_fingerprint(value)}")
    return {ENV_PROFILE_MARK: settings.telemetry_profile, ENV_DEFAULTS_MARK: " ".join(defaults)}


def data_dir_owner(data_dir: Path) -> str | None:
    """The profile whose stack lives in `data_dir`: its mark, else what its secrets file
    says (a folder from before the mark), else None (no stack has started there)."""
    try:
        owner = (data_dir / PROFILE_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        stored = stored_secrets(data_dir)
        if not stored:
            return None
        return "local" if set(stored) <= _LOCAL_SECRETS else "cluster"
    except OSError as exc:
        raise ConfigError(f"cannot read {data_dir / PROFILE_FILE}: {exc.strerror}") from exc
    return owner or None


def _check_owner(data_dir: Path, profile: str, variable: str | None) -> None:
    """Refuse a data folder that belongs to another profile, naming what pointed there."""
    owner = data_dir_owner(data_dir)
    if owner is None or owner == profile:
        return
    where = f"{variable}={data_dir}" if variable else f"the default data folder {data_dir}"
    fix = (
        f"unset {variable} to use the {profile} profile's own folder, or point it at another"
        if variable
        else "set TELEMETRY_DATA_DIR to a folder of its own"
    )
    raise ConfigError(
        f"{where} belongs to the {owner} profile's stack, not the {profile} profile's: {fix}"
    )


def _check_catalog_owner(uri: str, profile: str) -> None:
    """An SQLite catalog inside another profile's data folder is that profile's."""
    if not uri.startswith("sqlite:///"):
        return
    path = Path(uri[len("sqlite:///") :].split("?", 1)[0])
    for folder in path.parents:
        if (folder / PROFILE_FILE).is_file():
            owner = data_dir_owner(folder)
            if owner is not None and owner != profile:
                raise ConfigError(
                    f"PYICEBERG_CATALOG__TELEMETRY__URI names the {owner} profile's catalog "
                    f"in {folder}, not the {profile} profile's: unset it or point it elsewhere"
                )
            return


def _derive_catalog(values: dict[str, Any], data_dir: Path) -> None:
    """Defaults of the Iceberg catalog settings that follow from other settings."""
    cluster = _cluster_catalog(data_dir) if values["telemetry_profile"] == "cluster" else None
    uri = values["pyiceberg_catalog__telemetry__uri"].reveal() or (
        cluster[0] if cluster else f"sqlite:///{data_dir / 'iceberg' / 'catalog.db'}"
    )
    values["pyiceberg_catalog__telemetry__uri"] = Secret(_catalog_uri(uri))
    _check_catalog_owner(uri, values["telemetry_profile"])
    if not values["pyiceberg_catalog__telemetry__warehouse"]:
        values["pyiceberg_catalog__telemetry__warehouse"] = (
            f"s3://{values['telemetry_bucket']}/iceberg"
        )
    jdbc = values["telemetry_catalog_jdbc_url"].reveal() or (
        cluster[1] if cluster and uri == cluster[0] else jdbc_url(uri)
    )
    values["telemetry_catalog_jdbc_url"] = Secret(jdbc)


def _cluster_catalog(data_dir: Path) -> tuple[str, str]:
    """The cluster profile's catalog URLs (SQLAlchemy, JDBC): its PostgreSQL on 15432
    (telemetry.ops.stack.postgres), by the client certificate in <data>/tls: libpq reads
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
    Takes and gives revealed text: a caller wraps the result in a Secret.
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


# Other tools' variables (read here, as every variable is; not settings of ours) ----


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


def ssl_cert_file(environ: Mapping[str, str] | None = None) -> str:
    """The CA bundle file OpenSSL trusts in this process: SSL_CERT_FILE, else its default.

    OpenSSL's variable, not a setting of ours: it is not in ENV_VARS, so `telemetry
    env` never exports it (an empty SSL_CERT_FILE would make OpenSSL trust nothing).
    telemetry.core.storage.arrow_trust reads it before it points the variable elsewhere.
    """
    import ssl

    env = os.environ if environ is None else environ
    return env.get("SSL_CERT_FILE") or ssl.get_default_verify_paths().cafile or ""


def inherited_environ(names: Iterable[str]) -> dict[str, str]:
    """This process's values of `names` (e.g. PATH, HOME), for a child process's environment."""
    return {name: os.environ[name] for name in names if name in os.environ}
