"""Configuration: defaults, validation, secrets."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from telemetry.core.config import ENV_VARS, ci_annotations, load_settings
from telemetry.core.errors import ConfigError
from telemetry.core.lake.catalog import catalog_jdbc_url, jdbc_url
from telemetry.core.settings import COMPONENTS

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_match_the_local_stack() -> None:
    settings = load_settings({})
    assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert settings.registry.url == "http://127.0.0.1:8085/apis/ccompat/v7"
    assert settings.registry.base_url == "http://127.0.0.1:8085"
    assert settings.s3.endpoint_url == "http://127.0.0.1:9000"
    assert settings.flink.rest_url == "http://127.0.0.1:8081"
    assert settings.topics.topic == "telemetry_data"
    assert settings.lake.bucket == "telemetry-data"
    assert (settings.kafka.port, settings.registry.port, settings.s3.port, settings.flink.port) == (
        9092,
        8085,
        9000,
        8081,
    )


def test_environment_overrides_defaults_and_trailing_slash_is_dropped() -> None:
    settings = load_settings(
        {"FLINK_REST_URL": "http://flink.example:18081/", "TELEMETRY_TOPIC": "laps"}
    )
    assert settings.flink.rest_url == "http://flink.example:18081"
    assert settings.flink.port == 18081
    assert settings.topics.topic == "laps"


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
    assert "s3cr3t-value" not in repr(settings.s3.secret_access_key)
    exported = {name: (value, secret) for name, value, secret in settings.items()}
    assert exported["AWS_SECRET_ACCESS_KEY"] == ("s3cr3t-value", True)


def test_every_setting_has_a_documented_variable() -> None:
    names = {name for name, _value, _secret in load_settings({}).items()}
    assert names == {var.name for var in ENV_VARS}
    assert all(var.doc for var in ENV_VARS)


def test_data_dir_defaults_inside_the_checkout(tmp_path: Path) -> None:
    settings = load_settings({})
    assert settings.stack.data_dir.name == ".data"
    assert load_settings({"TELEMETRY_DATA_DIR": str(tmp_path)}).stack.data_dir == tmp_path


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
    assert settings.lake.catalog_uri.reveal() == (f"sqlite:///{tmp_path}/iceberg/catalog.db")
    assert catalog_jdbc_url(settings) == f"jdbc:sqlite:{tmp_path}/iceberg/catalog.db"
    assert settings.lake.warehouse == "s3://lake-b/iceberg"
    assert settings.lake.namespace == "telemetry"


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
    assert catalog_jdbc_url(load_settings({"PYICEBERG_CATALOG__TELEMETRY__URI": uri})) == jdbc


def test_the_cluster_catalog_is_its_postgresql_by_client_certificate(tmp_path: Path) -> None:
    from telemetry.ops.stack.postgres import catalog_urls
    from telemetry.ops.stack.secrets import ensure_secrets

    environ = {"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": str(tmp_path)}
    ensure_secrets(load_settings(environ), catalog_urls(tmp_path))  # as its first `up` does
    settings = load_settings(environ)
    uri = settings.lake.catalog_uri.reveal()
    assert uri.startswith(
        "postgresql+psycopg2://telemetry@127.0.0.1:15432/iceberg?sslmode=verify-full"
    )
    assert f"sslkey={tmp_path}/tls/client-telemetry.key" in uri
    jdbc = catalog_jdbc_url(settings)
    assert jdbc.startswith("jdbc:postgresql://127.0.0.1:15432/iceberg?user=telemetry&")
    assert jdbc.endswith(f"sslkey={tmp_path}/tls/client-telemetry.pk8")
    assert "password" not in uri + jdbc


# One declaration per setting ------------------------------------------------------


def test_every_setting_has_the_type_its_field_declares(tmp_path: Path) -> None:
    import dataclasses
    import typing

    for environ in ({}, {"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": str(tmp_path)}):
        settings = load_settings(environ)
        for holder in (settings, *(getattr(settings, group) for group in COMPONENTS)):
            types = typing.get_type_hints(type(holder))
            for f in dataclasses.fields(holder):
                kind = typing.get_origin(types[f.name]) or types[f.name]
                assert isinstance(getattr(holder, f.name), kind), f.name


def test_the_variables_are_the_fields_and_secrets_are_the_secret_typed_ones() -> None:

    from telemetry.core.secret import Secret

    by_field = [f"{g.PREFIX}{f.name}".upper() for g in COMPONENTS.values() for f in fields(g)]
    declared_elsewhere = {v.name for v in ENV_VARS} - set(by_field)
    assert declared_elsewhere == {  # a variable named by `setting(env=...)`, not its prefix
        "TELEMETRY_PROFILE",
        "TELEMETRY_SCHEMAS_DIR",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "PYICEBERG_CATALOG__TELEMETRY__URI",
        "PYICEBERG_CATALOG__TELEMETRY__WAREHOUSE",
        "MINIO_CONSOLE_PORT",
        "KAFKA_CONTROLLER_PORT",
        "JAVA_HOME",
        "APICURIO_JAVA_HOME",
    }
    assert len(ENV_VARS) == len({v.name for v in ENV_VARS}) == 1 + len(by_field)
    assert [v.field for v in ENV_VARS if v.group] == [
        f.name for g in COMPONENTS.values() for f in fields(g)
    ]
    secret = {var.name for var in ENV_VARS if var.secret}
    assert secret == {
        "KAFKA_SASL_PASSWORD",
        "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "FLINK_REST_KEY_PASSWORD",
        "PYICEBERG_CATALOG__TELEMETRY__URI",
        "TELEMETRY_CATALOG_JDBC_URL",
    }
    settings = load_settings({})
    assert {n for n, _v, s in settings.items() if s} == secret
    assert all(isinstance(settings.value(n), Secret) for n in secret)


def test_the_cluster_profile_takes_each_declared_cluster_default(tmp_path: Path) -> None:
    cluster = load_settings({"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": str(tmp_path)})
    values = {name: value for name, value, _secret in cluster.items()}
    declared = {var.name: var.cluster for var in ENV_VARS if var.cluster is not None}
    assert declared["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert {name: values[name] for name in declared} == declared
    overridden = load_settings({"TELEMETRY_PROFILE": "cluster", "TELEMETRY_PARALLELISM": "1"})
    assert overridden.job.parallelism == 1, "the environment wins over the profile"


def test_the_cluster_profile_trusts_its_own_ca_once_it_exists(tmp_path: Path) -> None:
    from telemetry.core.config import CLUSTER_TLS_FILES

    environ = {"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": str(tmp_path)}
    assert load_settings(environ).kafka.ssl_ca_location == ""
    (tmp_path / "tls").mkdir()
    for file in set(CLUSTER_TLS_FILES.values()):
        (tmp_path / "tls" / file).write_text("PEM")
    settings = load_settings(environ)
    for name, file in CLUSTER_TLS_FILES.items():
        assert settings.value(name) == str(tmp_path / "tls" / file), name
    assert load_settings({}).kafka.ssl_ca_location == "", "the local profile: none"


def test_the_cache_dir_follows_xdg_cache_home_of_the_environment_given(tmp_path: Path) -> None:
    settings = load_settings({"XDG_CACHE_HOME": str(tmp_path)})
    assert settings.stack.cache_dir == tmp_path / "telemetry-pipeline"


def test_the_schemas_folder_defaults_to_the_packages_and_follows_the_variable(
    tmp_path: Path,
) -> None:
    from telemetry.core.bundled import bundled
    from telemetry.core.schemas import schemas_dir

    assert schemas_dir(load_settings({})) == bundled("schemas")
    assert (bundled("schemas") / "subjects.toml").is_file()
    assert schemas_dir(load_settings({"TELEMETRY_SCHEMAS_DIR": str(tmp_path)})) == tmp_path


def test_flink_conf_dir_is_a_setting_empty_unless_flink_sets_it(tmp_path: Path) -> None:
    assert load_settings({}).flink.conf_dir == ""
    assert load_settings({"FLINK_CONF_DIR": str(tmp_path)}).flink.conf_dir == str(tmp_path)


def test_the_readme_configuration_table_has_a_row_for_every_variable() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    named = {word.strip("`") for row in rows for word in row.split("|")[1].split()}
    missing = [var.name for var in ENV_VARS if var.name not in named]
    assert not missing, f"add README rows for {missing}"


# Secrets ----------------------------------------------------------------------------


def test_a_secret_is_masked_by_str_repr_format_and_percent_formatting() -> None:
    from telemetry.core.secret import Secret

    secret = Secret("hunter2")
    shown = [
        str(secret),
        repr(secret),
        format(secret),
        format(secret, ">5"),
        f"{secret}",
        f"{secret!s} {secret!r}",
        "%s %r" % (secret, secret),  # noqa: UP031 - %-formatting is what is tested
        "{}".format(secret),  # noqa: UP032 - str.format is what is tested
        str([secret]),
        str({"password": secret}),
    ]
    assert all("hunter2" not in text and "***" in text for text in shown), shown
    assert secret.reveal() == "hunter2"


def test_a_secret_is_masked_in_log_records(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from telemetry.core.secret import Secret

    log = logging.getLogger("telemetry.test")
    with caplog.at_level(logging.INFO, logger="telemetry.test"):
        log.info("password %s", Secret("hunter2"))
        log.info(Secret("hunter2"))
        log.info("user info %r", Secret("u:hunter2"))
    assert "hunter2" not in caplog.text
    assert caplog.messages == ["password ***", "***", "user info '***'"]


def test_a_secret_is_no_str_and_only_reveal_gives_the_value() -> None:
    import json

    from telemetry.core.secret import Secret

    secret = Secret("hunter2")
    assert not isinstance(secret, str)
    with pytest.raises(TypeError):
        json.dumps({"password": secret})
    with pytest.raises(TypeError):
        "user:" + secret  # it must not join a credential string unrevealed
    with pytest.raises(TypeError):
        Secret(secret)
    with pytest.raises(AttributeError):
        secret._value = "other"
    assert secret == Secret("hunter2") and secret != Secret("other") and secret != "hunter2"
    assert bool(secret) and not Secret(""), "true when set, without showing it"


def test_settings_show_no_secret_in_repr_str_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    secrets = {var.name: f"known-{var.name.lower()}" for var in ENV_VARS if var.secret}
    secrets["PYICEBERG_CATALOG__TELEMETRY__URI"] = "postgresql://u:known-pw@db/iceberg"
    secrets["TELEMETRY_CATALOG_JDBC_URL"] = "jdbc:postgresql://db/iceberg?password=known-jdbc"
    settings = load_settings(secrets)
    with caplog.at_level(logging.INFO):
        logging.getLogger("telemetry.test").info("settings %s", settings)
    for text in (repr(settings), str(settings), f"{settings}", caplog.text):
        assert "known-" not in text
        assert "secret_access_key='***'" in text
    revealed = {name: value for name, value, secret in settings.items() if secret}
    assert revealed == secrets, "items() reveals them, for `telemetry env`"
