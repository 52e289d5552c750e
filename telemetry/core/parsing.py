"""How a setting is declared and parsed: `setting(...)` on a field of a settings class,
and the parsers that turn a variable's text into its value or a one-line ConfigError
naming the variable."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from telemetry.core.errors import ConfigError
from telemetry.core.secret import Secret

__all__ = ["DynamicDefault", "Parser", "Var", "declared", "setting"]

# Parsers: (variable name, raw text) -> value, or a one-line ConfigError ----------

Parser = Callable[[str, str], Any]


def text(_name: str, value: str) -> str:
    return value


def secret(_name: str, value: str) -> Secret:
    return Secret(value)


def path(_name: str, value: str) -> Path:
    return Path(value).expanduser().absolute()


def url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name}={value!r} is not an http(s) URL; e.g. {name}=http://host:port")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"{name}={value!r} has an invalid port") from exc
    return value.rstrip("/")


def port(name: str, value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{name}={value!r} is not a port number (1-65535)")
    return port


def int_at_least(minimum: int) -> Callable[[str, str], int]:
    def parse(name: str, value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name}={value!r} is not a whole number") from None
        if number < minimum:
            raise ConfigError(f"{name}={value!r} must be at least {minimum}")
        return number

    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def replication(name: str, value: str) -> int:
    number = int_at_least(-1)(name, value)
    if number == 0:
        raise ConfigError(f"{name}=0 is not a replication factor; use -1 for the brokers' default")
    return number


def bootstrap(name: str, value: str) -> str:
    for server in value.split(","):
        host, sep, number = server.strip().rpartition(":")
        if not sep or not host:
            raise ConfigError(f"{name}={value!r}: each server must be host:port")
        port(name, number)
    return value


def bucket(name: str, value: str) -> str:
    ok = 3 <= len(value) <= 63 and value[0].isalnum() and value[-1].isalnum()
    if not ok or any(not (c.islower() or c.isdigit() or c in "-.") for c in value):
        raise ConfigError(
            f"{name}={value!r} is not a valid bucket name "
            "(3-63 lowercase letters, digits, '-', '.')"
        )
    return value


def identifier(name: str, value: str) -> str:
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


def topic(name: str, value: str) -> str:
    if not value or len(value) > 249 or any(not (c.isalnum() or c in "._-") for c in value):
        raise ConfigError(f"{name}={value!r} is not a valid Kafka topic name")
    return value


def one_of(*choices: str, fold: Callable[[str], str] = str) -> Parser:
    def parse(name: str, value: str) -> str:
        value = fold(value)
        if value.upper() not in choices and value not in choices:
            raise ConfigError(f"{name}={value!r} must be one of {', '.join(choices)}")
        return value.upper() if value.upper() in choices else value

    return parse


def pem_file(name: str, value: str) -> str:
    if value and not Path(value).expanduser().is_file():
        what = "a PEM CA file" if name.endswith("_CA_LOCATION") else "a PEM file"
        raise ConfigError(f"{name}={value!r} is not a file; give the path of {what}")
    return str(Path(value).expanduser()) if value else ""


# Declarations ----------------------------------------------------------------------

# A default computed when the settings are loaded: (environment, profile) -> text.
DynamicDefault = Callable[[Mapping[str, str], str], str]
_DECLARATION = "telemetry.setting"


@dataclass(frozen=True)
class Declared:
    """What `setting(...)` says of a field: everything about its variable but the type."""

    default: str
    doc: str
    env: str | None
    parse: Parser | None
    cluster: str | None
    cluster_tls: str | None
    dynamic: DynamicDefault | None


def setting(
    default: str,
    doc: str,
    *,
    env: str | None = None,
    parse: Parser | None = None,
    cluster: str | None = None,
    cluster_tls: str | None = None,
    dynamic: DynamicDefault | None = None,
) -> Any:
    """A field of a settings class with everything about its variable but the type.

    default: the local profile's (text, as in the environment); doc: one line for
    `telemetry env --describe`; env: the variable (default: the class's PREFIX and the
    field's name in capitals); parse: (name, text) -> value (default: by the field's
    type: str as is, Path made absolute, Secret wrapped); cluster: the cluster profile's
    default; cluster_tls: a file of `<data dir>/tls` the cluster profile defaults to
    when it exists; dynamic: a default computed at load time from (environment, profile).
    """
    return field(
        metadata={_DECLARATION: Declared(default, doc, env, parse, cluster, cluster_tls, dynamic)}
    )


def declared(metadata: Mapping[str, Any]) -> Declared:
    """The declaration of a field made with `setting(...)`."""
    found: Declared = metadata[_DECLARATION]
    return found


@dataclass(frozen=True)
class Var:
    """One setting's variable: where it lives (`group`.`field`, group "" at the top) and
    how it is read."""

    name: str
    group: str
    field: str
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


DEFAULT_PARSERS: dict[type, Parser] = {str: text, Secret: secret, Path: path}
