"""Configuration: defaults, validation, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry.config import ENV_VARS, ci_annotations, jdbc_url, load_settings
from telemetry.errors import ConfigError


def test_defaults_match_the_local_stack() -> None:
    settings = load_settings({})
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.schema_registry_url == "http://127.0.0.1:8085/apis/ccompat/v7"
    assert settings.registry_base_url == "http://127.0.0.1:8085"
    assert settings.s3_endpoint_url == "http://127.0.0.1:9000"
    assert settings.flink_rest_url == "http://127.0.0.1:8081"
    assert settings.telemetry_topic == "telemetry_data"
    assert settings.telemetry_bucket == "telemetry-data"
    assert (settings.kafka_port, settings.registry_port, settings.s3_port, settings.flink_port) == (
        9092,
        8085,
        9000,
        8081,
    )


def test_environment_overrides_defaults_and_trailing_slash_is_dropped() -> None:
    settings = load_settings(
        {"FLINK_REST_URL": "http://flink.example:18081/", "TELEMETRY_TOPIC": "laps"}
    )
    assert settings.flink_rest_url == "http://flink.example:18081"
    assert settings.flink_port == 18081
    assert settings.telemetry_topic == "laps"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost"),
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost:notaport"),
        ("SCHEMA_REGISTRY_URL", "127.0.0.1:8085"),
        ("S3_ENDPOINT_URL", "ftp://minio:9000"),
        ("TELEMETRY_BUCKET", "Telemetry_Data"),
        ("TELEMETRY_TOPIC", "bad topic"),
        ("TELEMETRY_PARTITIONS", "0"),
        ("MINIO_CONSOLE_PORT", "70000"),
        ("TELEMETRY_NAMESPACE", "1st"),
        ("TELEMETRY_NAMESPACE", "my-lake"),
    ],
)
def test_malformed_value_fails_fast_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings({name: value})
    assert str(excinfo.value).startswith(f"{name}=")


def test_secrets_never_show_in_repr_but_are_exported_by_items() -> None:
    settings = load_settings({"AWS_SECRET_ACCESS_KEY": "s3cr3t-value"})
    assert "s3cr3t-value" not in repr(settings)
    assert "s3cr3t-value" not in repr(settings.aws_secret_access_key)
    exported = {name: (value, secret) for name, value, secret in settings.items()}
    assert exported["AWS_SECRET_ACCESS_KEY"] == ("s3cr3t-value", True)


def test_every_setting_has_a_documented_variable() -> None:
    names = {name for name, _value, _secret in load_settings({}).items()}
    assert names == {var.name for var in ENV_VARS}
    assert all(var.doc for var in ENV_VARS)


def test_data_dir_defaults_inside_the_checkout(tmp_path: Path) -> None:
    settings = load_settings({})
    assert settings.telemetry_data_dir.name == ".data"
    assert load_settings({"TELEMETRY_DATA_DIR": str(tmp_path)}).telemetry_data_dir == tmp_path


def test_ci_annotations_follow_the_variables_ci_sets() -> None:
    assert ci_annotations({"GITHUB_ACTIONS": "true", "CI": "true"}) == "github"
    assert ci_annotations({"CI": "true"}) == "plain"
    assert ci_annotations({"CI": "false"}) is None
    assert ci_annotations({}) is None


def test_a_catalog_uri_that_is_no_sql_catalog_fails_naming_the_variable_not_the_secret() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings({"PYICEBERG_CATALOG__TELEMETRY__URI": "http://user:hunter2@rest:8181"})
    message = str(excinfo.value)
    assert message.startswith("PYICEBERG_CATALOG__TELEMETRY__URI must be an SQL catalog URL")
    assert "hunter2" not in message


def test_the_catalog_defaults_follow_the_data_dir_and_bucket(tmp_path: Path) -> None:
    settings = load_settings({"TELEMETRY_DATA_DIR": str(tmp_path), "TELEMETRY_BUCKET": "lake-b"})
    assert settings.pyiceberg_catalog__telemetry__uri.reveal() == (
        f"sqlite:///{tmp_path}/iceberg/catalog.db"
    )
    assert (
        settings.telemetry_catalog_jdbc_url.reveal() == f"jdbc:sqlite:{tmp_path}/iceberg/catalog.db"
    )
    assert settings.pyiceberg_catalog__telemetry__warehouse == "s3://lake-b/iceberg"
    assert settings.telemetry_namespace == "telemetry"


@pytest.mark.parametrize(
    ("uri", "jdbc"),
    [
        ("sqlite:////var/lake/c.db", "jdbc:sqlite:/var/lake/c.db"),
        ("sqlite:///rel.db?timeout=5", "jdbc:sqlite:rel.db"),
        (
            "postgresql+psycopg2://u:p@db:5433/iceberg?sslmode=require",
            "jdbc:postgresql://db:5433/iceberg?user=u&password=p&sslmode=require",
        ),
        ("postgresql://db/iceberg", "jdbc:postgresql://db/iceberg"),
    ],
)
def test_the_jvm_reaches_the_database_pyiceberg_names(uri: str, jdbc: str) -> None:
    assert jdbc_url(uri) == jdbc
    assert (
        load_settings(
            {"PYICEBERG_CATALOG__TELEMETRY__URI": uri}
        ).telemetry_catalog_jdbc_url.reveal()
        == jdbc
    )


def test_the_cluster_catalog_is_its_postgresql_by_client_certificate(tmp_path: Path) -> None:
    settings = load_settings({"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": str(tmp_path)})
    uri = settings.pyiceberg_catalog__telemetry__uri.reveal()
    assert uri.startswith(
        "postgresql+psycopg2://telemetry@127.0.0.1:15432/iceberg?sslmode=verify-full"
    )
    assert f"sslkey={tmp_path}/tls/client-telemetry.key" in uri
    jdbc = settings.telemetry_catalog_jdbc_url.reveal()
    assert jdbc.startswith("jdbc:postgresql://127.0.0.1:15432/iceberg?user=telemetry&")
    assert jdbc.endswith(f"sslkey={tmp_path}/tls/client-telemetry.pk8")
    assert "password" not in uri + jdbc
