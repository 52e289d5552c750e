"""Every place that hands a secret setting on reveals it, on purpose, and nothing else does.

A Secret prints as `***` and is no str, so a credential that reached a client,
URL, file or child environment without `.reveal()` would arrive as `***` (or
fail). Each builder below gets known secrets and must pass them on; the last
test finds, in the sources, every read of a secret setting and requires it be
revealed there.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from telemetry.core.config import ENV_VARS, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
KNOWN = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "KAFKA_SASL_USERNAME": "telemetry",
    "KAFKA_SASL_PASSWORD": "known-sasl-pw",
    "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": "telemetry:known-registry-pw",
    "AWS_ACCESS_KEY_ID": "known-access-key",
    "AWS_SECRET_ACCESS_KEY": "known-secret-key",
    "AWS_SESSION_TOKEN": "known-session-token",
    "FLINK_REST_KEY_PASSWORD": "known-key-pw",
    "PYICEBERG_CATALOG__TELEMETRY__URI": "postgresql+psycopg2://u:known-db-pw@db:5432/iceberg",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(KNOWN | {"TELEMETRY_DATA_DIR": str(tmp_path)})


def test_the_settings_repr_shows_none_of_the_known_secrets(settings: Settings) -> None:
    assert "known-" not in repr(settings)


def test_librdkafka_gets_the_sasl_password(settings: Settings) -> None:
    from telemetry.core.kafka_config import librdkafka_config

    assert librdkafka_config(settings)["sasl.password"] == "known-sasl-pw"


def test_the_jvm_properties_name_the_password_variable_not_the_password(
    settings: Settings,
) -> None:
    from telemetry.core.kafka_config import java_properties

    jaas = java_properties(settings)["sasl.jaas.config"]
    assert "known-sasl-pw" not in jaas and "${env:KAFKA_SASL_PASSWORD}" in jaas


def test_the_jvms_environment_gets_every_client_secret(settings: Settings) -> None:
    from telemetry.core.kafka_config import client_secrets_env

    assert client_secrets_env(settings) == {
        "KAFKA_SASL_PASSWORD": "known-sasl-pw",
        "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": "telemetry:known-registry-pw",
        "AWS_ACCESS_KEY_ID": "known-access-key",
        "AWS_SECRET_ACCESS_KEY": "known-secret-key",
        "AWS_SESSION_TOKEN": "known-session-token",
        "AWS_REGION": "us-east-1",
    }


def test_the_pyflink_gateway_environment_gets_the_client_secrets(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telemetry.ops.jobs import client

    launch = {
        "FLINK_HOME": "/flink",
        "FLINK_CONF_DIR": "/flink/conf",
        "FLINK_LOG_DIR": "/logs",
        "JAVA_HOME": "/jdk",
    }
    monkeypatch.setattr(client, "client_env", lambda _settings: launch)  # bound at import
    for name in [*launch, "KAFKA_SASL_PASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]:
        monkeypatch.setenv(name, "before")  # restored after the test
    job_settings = client._prepare_gateway(settings)
    assert os.environ["KAFKA_SASL_PASSWORD"] == "known-sasl-pw"
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == "known-secret-key"
    assert os.environ["FLINK_CONF_DIR"] == "/flink/conf"
    assert job_settings.flink.conf_dir == "/flink/conf", "the job is built with the gateway's"


def test_the_registry_client_gets_the_basic_auth_user_info(settings: Settings) -> None:
    from telemetry.core.registry import connect

    rest = connect(settings).client._rest_client  # the Confluent client's parsed configuration
    assert rest.auth == ("telemetry", "known-registry-pw")


def test_the_registry_health_check_sends_the_user_info(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telemetry.ops.stack import services

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(services, "http_ok", lambda url, **kw: calls.append(kw) or b"[]")
    assert services.registry_healthy(settings)
    assert calls[0]["user_info"] == "telemetry:known-registry-pw"


def test_pyiceberg_gets_the_catalog_uri_and_the_s3_keys(settings: Settings) -> None:
    from telemetry.core.lake.catalog import catalog_properties, pyiceberg_env

    props = catalog_properties(settings)
    assert props["uri"] == "postgresql+psycopg2://u:known-db-pw@db:5432/iceberg"
    assert props["s3.access-key-id"] == "known-access-key"
    assert props["s3.secret-access-key"] == "known-secret-key"
    assert props["s3.session-token"] == "known-session-token"
    env = pyiceberg_env(settings)
    assert env["PYICEBERG_CATALOG__TELEMETRY__URI"] == props["uri"]
    assert env["PYICEBERG_CATALOG__TELEMETRY__S3__SECRET_ACCESS_KEY"] == "known-secret-key"


def test_flink_and_the_maintenance_lock_get_the_jdbc_url_with_its_password(
    settings: Settings,
) -> None:
    from telemetry.core.lake.catalog import catalog_jdbc_url, flink_catalog_options
    from telemetry.core.lake.maintenance import maintenance_lock

    jdbc = "jdbc:postgresql://db:5432/iceberg?user=u&password=known-db-pw"
    assert catalog_jdbc_url(settings) == jdbc
    assert flink_catalog_options(settings)["uri"] == jdbc
    assert maintenance_lock(settings).jdbc_url == jdbc


def test_duckdb_gets_the_s3_keys_in_its_secret(settings: Settings) -> None:
    from telemetry.core.lake.duckdb import s3_secret_sql

    sql = s3_secret_sql(settings)
    for value in ("known-access-key", "known-secret-key", "known-session-token"):
        assert f"'{value}'" in sql


def test_boto3_gets_the_s3_keys(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from telemetry.core.storage.s3 import s3_client

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(boto3, "client", lambda *_a, **kw: calls.append(kw))
    s3_client(settings)
    assert (calls[0]["aws_access_key_id"], calls[0]["aws_secret_access_key"]) == (
        "known-access-key",
        "known-secret-key",
    )
    assert calls[0]["aws_session_token"] == "known-session-token"


def test_pyarrow_gets_the_s3_keys(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.fs as pafs

    from telemetry.core.storage.parquet import s3_filesystem

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(pafs, "S3FileSystem", lambda **kw: calls.append(kw))
    s3_filesystem(settings)
    assert (calls[0]["access_key"], calls[0]["secret_key"], calls[0]["session_token"]) == (
        "known-access-key",
        "known-secret-key",
        "known-session-token",
    )


def test_the_flink_rest_client_key_is_decrypted_with_its_password(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telemetry.core import flink_tls

    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(flink_tls, "_context", lambda *args: calls.append(args))
    flink_tls.rest_tls_context(settings)
    assert calls[0][3] == "known-key-pw"


def test_the_clusters_minio_user_gets_the_s3_keys(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telemetry.ops.host.layout import Layout
    from telemetry.ops.stack import cluster

    users: list[Any] = []
    monkeypatch.setattr(cluster, "tls_files", lambda _s: SimpleNamespace(ca=tmp_path / "ca.pem"))
    monkeypatch.setattr(cluster, "ensure_lake_buckets", lambda *_a: None)
    monkeypatch.setattr(cluster, "give_clients_a_user", lambda _mc, user, _env: users.append(user))
    cluster._minio_user_and_buckets(settings, Layout.of(settings), print)
    assert (users[0].access_key, users[0].secret_key) == ("known-access-key", "known-secret-key")


def test_the_clusters_kafka_user_gets_the_sasl_password(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telemetry.ops.stack import cluster

    upserts: list[Any] = []

    class Admin:
        def __init__(self, *_a: object, **_kw: object) -> None:
            pass

        def list_topics(self, timeout: float) -> SimpleNamespace:
            return SimpleNamespace(brokers=[1, 2, 3])

        def alter_user_scram_credentials(self, given: list[Any]) -> dict[str, Any]:
            upserts.extend(given)
            return {}

    monkeypatch.setattr(cluster, "internal_admin_config", lambda _s: {})
    monkeypatch.setattr(cluster, "AdminClient", Admin)
    cluster._kafka_ready_and_users(settings, None, print)  # no layout needed
    assert (upserts[0].user, upserts[0].password) == ("telemetry", b"known-sasl-pw")


def test_the_registry_proxy_checks_the_user_infos_password(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from telemetry.ops.host.layout import Layout
    from telemetry.ops.stack import cluster

    tls = SimpleNamespace(cert=tmp_path / "cert.pem", key=tmp_path / "key.pem")
    monkeypatch.setattr(cluster, "tls_files", lambda _s: tls)
    layout = Layout.of(settings)
    cluster._proxy_prepare(settings, layout)
    line = (layout.service_dir("registry-proxy") / "htpasswd").read_text().strip()
    user, _, hashed = line.partition(":{SSHA}")
    raw = base64.b64decode(hashed)
    digest, salt = raw[:20], raw[20:]
    assert user == "telemetry"
    assert hashlib.sha1(b"known-registry-pw" + salt).digest() == digest


def test_telemetry_env_exports_the_secrets_a_shell_needs(settings: Settings) -> None:
    exported = {name: value for name, value, secret in settings.items() if secret}
    assert exported["KAFKA_SASL_PASSWORD"] == "known-sasl-pw"
    assert exported["AWS_SESSION_TOKEN"] == "known-session-token"


# The sources ------------------------------------------------------------------------

SECRET_FIELDS = frozenset(var.field for var in ENV_VARS if var.secret)
PACKAGES = ("telemetry", "producer", "flink", "bench")


def _unrevealed(source: str) -> list[tuple[int, str]]:
    """(line, code) of every read of a secret setting's attribute not followed by .reveal()."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr in SECRET_FIELDS):
            continue
        if not isinstance(node.ctx, ast.Load):
            continue
        parent = parents.get(node)
        call = parents.get(parent) if parent is not None else None
        revealed = (
            isinstance(parent, ast.Attribute)
            and parent.attr == "reveal"
            and isinstance(call, ast.Call)
            and call.func is parent
        )
        if not revealed:
            found.append((node.lineno, ast.unparse(parent if parent is not None else node)))
    return found


@pytest.mark.parametrize(
    ("code", "flagged"),
    [
        ("url = settings.s3.secret_access_key.reveal()", False),
        ("url = f'{settings.kafka.sasl_password}'", True),
        ("client(password=settings.kafka.sasl_password)", True),
        ("if settings.s3.session_token: pass", True),
        ("settings.lake.catalog_jdbc_url.reveal", True),
        ("settings.kafka.sasl_username", False),
    ],
)
def test_the_reveal_rule_bites(code: str, flagged: bool) -> None:
    assert bool(_unrevealed(code)) is flagged


def test_every_use_of_a_secret_setting_reveals_it_on_purpose() -> None:
    """Outside telemetry/core/config.py, a secret setting is read only as `x.<field>.reveal()`,
    so that `grep -rn 'reveal()'` lists every place a credential leaves its Secret."""
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "telemetry" / "core" / "config.py":
                continue
            for line, code in _unrevealed(path.read_text(encoding="utf-8")):
                problems.append(f"{path.relative_to(ROOT)}:{line}: {code}")
    assert not problems, "\n".join(problems)
