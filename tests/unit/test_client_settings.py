"""The security settings reach every client through one mapping each."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from telemetry.core.config import load_settings
from telemetry.core.errors import ConfigError
from telemetry.core.kafka_config import client_secrets_env, java_properties, librdkafka_config

SASL = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "telemetry",
    "KAFKA_SASL_PASSWORD": "s3cret-pw",
}


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real self-signed CA certificate (clients load it eagerly)."""
    import subprocess

    folder = tmp_path_factory.mktemp("ca")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=test-ca", "-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.pem")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return str(folder / "ca.pem")


def test_plaintext_is_the_local_default_for_both_client_families() -> None:
    settings = load_settings({})
    assert librdkafka_config(settings) == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "PLAINTEXT",
    }
    assert java_properties(settings) == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "PLAINTEXT",
    }


def test_sasl_ssl_maps_to_librdkafka_with_the_password_and_the_ca(ca: str) -> None:
    settings = load_settings(SASL | {"KAFKA_SSL_CA_LOCATION": ca})
    config = librdkafka_config(settings, **{"group.id": "g"})
    assert config == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "telemetry",
        "sasl.password": "s3cret-pw",
        "ssl.ca.location": ca,
        "group.id": "g",
    }


@pytest.mark.parametrize(
    ("mechanism", "module"),
    [
        ("SCRAM-SHA-512", "org.apache.kafka.common.security.scram.ScramLoginModule"),
        ("SCRAM-SHA-256", "org.apache.kafka.common.security.scram.ScramLoginModule"),
        ("PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule"),
    ],
)
def test_java_clients_get_a_jaas_config_that_names_the_password_variable_not_the_password(
    ca: str, mechanism: str, module: str
) -> None:
    settings = load_settings(
        SASL | {"KAFKA_SASL_MECHANISM": mechanism, "KAFKA_SSL_CA_LOCATION": ca}
    )
    props = java_properties(settings)
    assert props["sasl.jaas.config"] == (
        f'{module} required username="telemetry" password="${{env:KAFKA_SASL_PASSWORD}}";'
    )
    assert props["config.providers"] == "env"
    assert props["config.providers.env.class"].endswith("EnvVarConfigProvider")
    assert props["ssl.truststore.type"] == "PEM"
    assert props["ssl.truststore.location"] == ca
    assert "s3cret-pw" not in repr(props), "the password must not travel in job graphs"
    assert client_secrets_env(settings)["KAFKA_SASL_PASSWORD"] == "s3cret-pw"


def test_sasl_without_credentials_fails_naming_the_variables() -> None:
    settings = load_settings({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    with pytest.raises(ConfigError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        librdkafka_config(settings)
    with pytest.raises(ConfigError, match="KAFKA_SASL_USERNAME"):
        java_properties(settings)


def test_tls_without_sasl_has_no_sasl_keys(ca: str) -> None:
    settings = load_settings({"KAFKA_SECURITY_PROTOCOL": "ssl", "KAFKA_SSL_CA_LOCATION": ca})
    assert librdkafka_config(settings)["security.protocol"] == "SSL"
    assert not any(k.startswith("sasl") for k in java_properties(settings))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("KAFKA_SECURITY_PROTOCOL", "TLS", "must be one of PLAINTEXT, SSL"),
        ("KAFKA_SASL_MECHANISM", "GSSAPI", "must be one of PLAIN, SCRAM-SHA-256"),
        ("KAFKA_SSL_CA_LOCATION", "/nowhere/ca.pem", "is not a file"),
        ("S3_ADDRESSING_STYLE", "dns", "must be one of path, virtual"),
        ("TELEMETRY_REPLICATION_FACTOR", "0", "use -1 for the brokers' default"),
        ("TELEMETRY_PROFILE", "prod", "must be one of local, cluster"),
    ],
)
def test_bad_security_settings_fail_naming_the_variable(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=name) as error:
        load_settings({name: value})
    assert message in str(error.value)


def test_boto3_uses_the_keys_token_ca_and_addressing_when_set(monkeypatch, ca: str) -> None:
    import boto3

    from telemetry.core.storage.s3 import s3_client

    calls: list[dict] = []
    monkeypatch.setattr(boto3, "client", lambda *a, **kw: calls.append(kw))
    s3_client(
        load_settings(
            {
                "AWS_ACCESS_KEY_ID": "AKIA",
                "AWS_SECRET_ACCESS_KEY": "sk",
                "AWS_SESSION_TOKEN": "tok",
                "S3_CA_LOCATION": ca,
                "S3_ADDRESSING_STYLE": "virtual",
                "S3_ENDPOINT_URL": "https://s3.example:443",
                "TELEMETRY_DATA_DIR": "/nonexistent",
            }
        )
    )
    (kwargs,) = calls
    assert kwargs["aws_access_key_id"] == "AKIA" and kwargs["aws_session_token"] == "tok"
    assert kwargs["verify"] == ca and kwargs["endpoint_url"] == "https://s3.example:443"
    assert kwargs["config"].s3 == {"addressing_style": "virtual"}


def test_boto3_falls_back_to_the_aws_credential_chain_without_keys(monkeypatch) -> None:
    import boto3

    from telemetry.core.storage.s3 import s3_client

    calls: list[dict] = []
    monkeypatch.setattr(boto3, "client", lambda *a, **kw: calls.append(kw))
    s3_client(load_settings({"TELEMETRY_DATA_DIR": "/nonexistent"}))
    assert not any(k.startswith("aws_") for k in calls[0]), "no keys: boto3's own chain"


def test_pyarrow_gets_keys_token_and_virtual_addressing(monkeypatch) -> None:
    import pyarrow.fs as pafs

    from telemetry.core.storage.parquet import s3_filesystem

    calls: list[dict] = []
    monkeypatch.setattr(pafs, "S3FileSystem", lambda **kw: calls.append(kw))
    s3_filesystem(
        load_settings(
            {
                "AWS_ACCESS_KEY_ID": "AKIA",
                "AWS_SECRET_ACCESS_KEY": "sk",
                "AWS_SESSION_TOKEN": "tok",
                "S3_ADDRESSING_STYLE": "virtual",
                "TELEMETRY_DATA_DIR": "/nonexistent",
            }
        )
    )
    s3_filesystem(load_settings({"TELEMETRY_DATA_DIR": "/nonexistent"}))
    with_keys, without = calls
    assert (with_keys["access_key"], with_keys["session_token"]) == ("AKIA", "tok")
    assert with_keys["force_virtual_addressing"] is True
    assert with_keys["endpoint_override"] == "127.0.0.1:9000" and with_keys["scheme"] == "http"
    assert "access_key" not in without, "no keys: the AWS SDK's chain"


def test_flink_s3_config_has_no_credentials_and_follows_the_endpoint(tmp_path: Path) -> None:
    from telemetry.ops.host.layout import Layout
    from telemetry.ops.stack.flink_home import render_config

    settings = load_settings(
        {
            "AWS_ACCESS_KEY_ID": "AKIA-visible",
            "AWS_SECRET_ACCESS_KEY": "sk-visible",
            "S3_ENDPOINT_URL": "https://127.0.0.1:19000",
            "S3_ADDRESSING_STYLE": "virtual",
            "TELEMETRY_DATA_DIR": str(tmp_path),
        }
    )
    text = render_config(settings, Layout.of(settings))
    assert "AKIA-visible" not in text and "sk-visible" not in text
    assert "s3.access-key" not in text and "s3.secret-key" not in text
    assert "s3.endpoint: https://127.0.0.1:19000" in text
    assert "s3.path.style.access: false" in text
    assert "s3.connection.ssl.enabled: true" in text
    assert "web.submit.enable: false" in text
    env = client_secrets_env(settings)
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
        "AKIA-visible",
        "sk-visible",
    )


def test_registry_clients_get_basic_auth_and_the_ca(ca: str) -> None:
    from telemetry.core.registry import connect

    settings = load_settings(
        {
            "SCHEMA_REGISTRY_URL": "https://registry.example/apis/ccompat/v7",
            "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": "telemetry:pw",
            "SCHEMA_REGISTRY_CA_LOCATION": ca,
        }
    )
    client = connect(settings).client
    config = client._rest_client  # the Confluent client's own parsed configuration
    assert config.auth == ("telemetry", "pw")
    assert config.verify is not None and config.verify is not True, "verified against the CA"


def test_the_cluster_profile_changes_the_connection_defaults() -> None:
    settings = load_settings({"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": "/nonexistent"})
    assert settings.kafka.bootstrap_servers.count(",") == 2
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.registry.url.startswith("https://")
    assert settings.s3.endpoint_url.startswith("https://")
    assert (settings.topics.replication_factor, settings.topics.min_insync_replicas) == (3, 2)
    assert load_settings({"TELEMETRY_PROFILE": "cluster"}).stack.data_dir.name == ".data-cluster"


def test_a_local_stack_generates_private_random_credentials_once(tmp_path: Path) -> None:
    from telemetry.ops.stack.secrets import ensure_secrets

    data = tmp_path / "data"
    settings = ensure_secrets(load_settings({"TELEMETRY_DATA_DIR": str(data)}))
    first = settings.s3.secret_access_key.reveal()
    assert len(first) >= 24 and first != "minioadmin"
    assert stat.S_IMODE((data / "secrets.env").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    again = ensure_secrets(load_settings({"TELEMETRY_DATA_DIR": str(data)}))
    assert again.s3.secret_access_key.reveal() == first
    reloaded = load_settings({"TELEMETRY_DATA_DIR": str(data)})
    assert reloaded.s3.secret_access_key.reveal() == first, "the file is the secret's default"
    assert repr(first) not in repr(reloaded)


def test_the_environment_wins_over_the_generated_credentials(tmp_path: Path) -> None:
    from telemetry.ops.stack.secrets import ensure_secrets

    ensure_secrets(load_settings({"TELEMETRY_DATA_DIR": str(tmp_path)}))
    settings = load_settings({"TELEMETRY_DATA_DIR": str(tmp_path), "AWS_SECRET_ACCESS_KEY": "mine"})
    assert settings.s3.secret_access_key.reveal() == "mine"
