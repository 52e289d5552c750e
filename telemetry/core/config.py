"""The one place that reads the environment.

Every setting has a conventional variable name and a local default that
matches the stack `telemetry up` starts. Malformed values fail at once with
the variable's name. Secrets print as `***`.

Each setting is declared once, as a field of its component's settings
(telemetry.core.settings: Kafka, the registry, S3, Flink, the topics, the lake,
the job, the producer, the stack): the variable, its type (`Secret` for a
secret), the local default, the meaning, the parser and the cluster profile's
default. `Settings` holds one of each component (`settings.kafka.bootstrap_servers`);
`ENV_VARS` (what `telemetry env` and the README's table list) is read off them.

Two profiles of the local stack (TELEMETRY_PROFILE): `local`, one plaintext
node of each server (the fast default), and `cluster`, the production shape
(three SASL_SSL brokers, TLS everywhere, credentials required). The profile
chooses the defaults of the connection settings; the environment still wins.
A local stack generates its own random credentials at first start, in
`<TELEMETRY_DATA_DIR>/secrets.env` (mode 0600): they are the defaults of the
secret settings, and `telemetry env` prints them; `stack.env` beside it keeps the
profile's other defaults that are no credentials (the cluster profile's catalog
URLs, which its stack code writes). With no S3 keys at all,
clients use the standard AWS credential chain (profile, instance or pod role).

Profiles never cross. A data folder belongs to the profile that first started a
stack in it (`<data dir>/stack-profile`); loading another profile's settings on
it fails, naming the variable that pointed there. `telemetry env` marks what it
prints: TELEMETRY_ENV_PROFILE names its profile and TELEMETRY_ENV_DEFAULTS the
variables whose values were that profile's defaults (not the environment's).
Under another profile those variables count as unset, so an exported `telemetry
env` of one profile never steers another (`make up PROFILE=cluster` after
`eval "$(telemetry env)"`). A variable the user set, before or since (its value
is not the one printed: the mark keeps a short hash of each), still wins.

Other modules never read `os.environ` (tests/unit/test_environment_reads.py
holds them to it): they get `Settings`, or ask a function here
(`ci_annotations`, `ssl_cert_file`, `inherited_environ`) for the variables of
other tools.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shlex
import ssl
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from telemetry.core.errors import ConfigError
from telemetry.core.parsing import DEFAULT_PARSERS, Var, declared, one_of, setting
from telemetry.core.secret import Secret
from telemetry.core.settings import (
    COMPONENTS,
    PROFILES,
    FlinkSettings,
    JobSettings,
    KafkaSettings,
    LakeSettings,
    ProducerSettings,
    RegistrySettings,
    S3Settings,
    StackSettings,
    TopicSettings,
)

__all__ = [
    "CLUSTER_TLS_FILES",
    "ENV_VARS",
    "Settings",
    "ci_annotations",
    "data_dir_owner",
    "env_marks",
    "inherited_environ",
    "load_settings",
    "ssl_cert_file",
    "stack_defaults",
    "stored_defaults",
]

SECRETS_FILE = "secrets.env"
STACK_DEFAULTS_FILE = "stack.env"
# The profile a data folder belongs to, written when a stack first starts in it.
PROFILE_FILE = "stack-profile"
# What `telemetry env` marks its exports with (see the module's docstring).
ENV_PROFILE_MARK = "TELEMETRY_ENV_PROFILE"
ENV_DEFAULTS_MARK = "TELEMETRY_ENV_DEFAULTS"
# All a local profile's secrets file holds (MinIO's root user is its clients' user).
_LOCAL_SECRETS = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"})


# Settings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Effective configuration, one settings object per component. Build it with
    `load_settings()`. The components' order, and their fields', is `telemetry env`'s."""

    kafka: KafkaSettings
    registry: RegistrySettings
    s3: S3Settings
    flink: FlinkSettings
    topics: TopicSettings
    lake: LakeSettings
    job: JobSettings
    producer: ProducerSettings
    stack: StackSettings
    profile: str = setting(
        "local",
        "local: one plaintext node each; cluster: production shape",
        env="TELEMETRY_PROFILE",
        parse=one_of(*PROFILES, fold=str.lower),
    )
    # The variables the environment set (not a setting: what the defaults did not give).
    from_environment: frozenset[str] = dataclasses.field(
        default=frozenset(), compare=False, repr=False
    )

    @property
    def minio_console_url(self) -> str:
        parts = urlsplit(self.s3.endpoint_url)
        return f"{parts.scheme or 'http'}://{parts.hostname}:{self.stack.minio_console_port}"

    def value(self, name: str) -> Any:
        """The value of the variable `name` (e.g. KAFKA_BOOTSTRAP_SERVERS)."""
        var = _BY_NAME[name]
        holder = getattr(self, var.group) if var.group else self
        return getattr(holder, var.field)

    def with_values(self, values: Mapping[str, Any]) -> Settings:
        """These settings with the variables of `values` (name -> typed value) replaced."""
        groups: dict[str, dict[str, Any]] = {}
        for name, value in values.items():
            var = _BY_NAME[name]
            groups.setdefault(var.group, {})[var.field] = value
        top = groups.pop("", {})
        changed = {g: dataclasses.replace(getattr(self, g), **v) for g, v in groups.items()}
        return dataclasses.replace(self, **top, **changed)

    def items(self) -> Iterator[tuple[str, str, bool]]:
        """(variable name, value as text, is secret) for every setting.

        Secrets revealed: this is what `telemetry env` exports for a shell.
        """
        for var in ENV_VARS:
            value = self.value(var.name)
            text = value.reveal() if isinstance(value, Secret) else str(value)
            yield var.name, text, var.secret


def _variables_of(cls: type, group: str, prefix: str) -> list[Var]:
    """The variables a settings class declares (the parser by type where none is given)."""
    types = typing.get_type_hints(cls)
    found = []
    for f in fields(cls):
        if f.name == "from_environment" or f.name in COMPONENTS:
            continue
        declaration = declared(f.metadata)
        kind = types[f.name]
        parse = declaration.parse or DEFAULT_PARSERS.get(kind)
        if parse is None:
            raise TypeError(f"{cls.__name__}.{f.name}: a {kind.__name__} setting needs parse=")
        found.append(
            Var(
                name=declaration.env or f"{prefix}{f.name.upper()}",
                group=group,
                field=f.name,
                default=declaration.default,
                doc=declaration.doc,
                secret=kind is Secret,
                parse=parse,
                cluster=declaration.cluster,
                cluster_tls=declaration.cluster_tls,
                dynamic=declaration.dynamic,
            )
        )
    return found


def _variables() -> tuple[Var, ...]:
    found = _variables_of(Settings, "", "")
    for group, cls in COMPONENTS.items():
        found += _variables_of(cls, group, cls.PREFIX)  # type: ignore[attr-defined]
    names = [var.name for var in found]
    if len(names) != len(set(names)):
        raise TypeError(f"a variable is declared twice: {sorted(names)}")
    return tuple(found)


# Every setting's variable, in `Settings`' order. The README's configuration table is this list.
ENV_VARS: tuple[Var, ...] = _variables()
_BY_NAME = {var.name: var for var in ENV_VARS}

# Files of the cluster profile's own certificate authority in <data>/tls (made at
# first start, telemetry.ops.stack.tls): the CA every client trusts, and the Flink REST
# API's client certificate (its key encrypted with FLINK_REST_KEY_PASSWORD).
CLUSTER_TLS_FILES: dict[str, str] = {v.name: v.cluster_tls for v in ENV_VARS if v.cluster_tls}


# Loading ---------------------------------------------------------------------------


def stored_secrets(data_dir: Path) -> dict[str, str]:
    """The credentials a local stack generated for itself (`<data dir>/secrets.env`)."""
    return _assignments(data_dir / SECRETS_FILE)


def stack_defaults(data_dir: Path) -> dict[str, str]:
    """What else a stack keeps as its profile's defaults, no credentials among them
    (`<data dir>/stack.env`: the cluster profile's catalog URLs)."""
    return _assignments(data_dir / STACK_DEFAULTS_FILE)


def _assignments(path: Path) -> dict[str, str]:
    """NAME=value lines (shell-quoted values, # comments) of a file; none if it is missing."""
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
    given = frozenset(var.name for var in ENV_VARS if env.get(var.name, "").strip())
    stored = stored_defaults({**stack_defaults(data_dir), **stored_secrets(data_dir)}, given)
    values: dict[str, Any] = {}
    for var in ENV_VARS:
        raw = env.get(var.name, "").strip() or stored.get(var.name, "")
        if not raw:
            raw = str(data_dir) if var is data_var else var.default_for(env, profile, data_dir)
        values[var.name] = var.parse(var.name, raw)
    _derive_catalog(values, data_dir, profile)
    return _assembled(values, given)


def stored_defaults(stored: Mapping[str, str], given: Iterable[str]) -> dict[str, str]:
    """What of a stack's secrets file (`stored`) are defaults when the environment set the
    variables `given`: the secret settings it left, the catalog's JDBC URL only while the
    catalog's URI is the stack's too (else the JDBC URL follows the URI given)."""
    given = set(given)
    defaults = {
        var.name: stored[var.name]
        for var in ENV_VARS
        if var.secret and var.name not in given and stored.get(var.name)
    }
    if "PYICEBERG_CATALOG__TELEMETRY__URI" in given:
        defaults.pop("TELEMETRY_CATALOG_JDBC_URL", None)
    return defaults


def _assembled(values: Mapping[str, Any], given: frozenset[str]) -> Settings:
    """`Settings` from every variable's value, each in its component."""
    groups: dict[str, dict[str, Any]] = {group: {} for group in COMPONENTS}
    top: dict[str, Any] = {}
    for var in ENV_VARS:
        (groups[var.group] if var.group else top)[var.field] = values[var.name]
    components = {group: cls(**groups[group]) for group, cls in COMPONENTS.items()}
    return Settings(**top, **components, from_environment=given)


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
    kept = _without_other_profiles_exports(env, settings.profile)
    printed = _marked_defaults(kept) if kept is env else {}
    defaults = []
    for name, value, _secret in settings.items():
        own = kept.get(name, "").strip()
        if name != "TELEMETRY_PROFILE" and (not own or printed.get(name) == _fingerprint(own)):
            defaults.append(f"{name}:{_fingerprint(value)}")
    return {ENV_PROFILE_MARK: settings.profile, ENV_DEFAULTS_MARK: " ".join(defaults)}


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


def _derive_catalog(values: dict[str, Any], data_dir: Path, profile: str) -> None:
    """Defaults of the Iceberg catalog settings that follow from other settings."""
    uri = values["PYICEBERG_CATALOG__TELEMETRY__URI"].reveal() or (
        f"sqlite:///{data_dir / 'iceberg' / 'catalog.db'}"
    )
    values["PYICEBERG_CATALOG__TELEMETRY__URI"] = Secret(_catalog_uri(uri))
    _check_catalog_owner(uri, profile)
    if not values["PYICEBERG_CATALOG__TELEMETRY__WAREHOUSE"]:
        values["PYICEBERG_CATALOG__TELEMETRY__WAREHOUSE"] = (
            f"s3://{values['TELEMETRY_BUCKET']}/iceberg"
        )


def _catalog_uri(value: str) -> str:
    name = "PYICEBERG_CATALOG__TELEMETRY__URI"
    if not value.startswith(("sqlite:///", "postgresql://", "postgresql+")):
        raise ConfigError(
            f"{name} must be an SQL catalog URL, sqlite:///PATH or postgresql://USER@HOST/DB, "
            f"not {urlsplit(value).scheme or value!r}"
        )
    return value


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

    env = os.environ if environ is None else environ
    return env.get("SSL_CERT_FILE") or ssl.get_default_verify_paths().cafile or ""


def inherited_environ(names: Iterable[str]) -> dict[str, str]:
    """This process's values of `names` (e.g. PATH, HOME), for a child process's environment."""
    return {name: os.environ[name] for name in names if name in os.environ}
