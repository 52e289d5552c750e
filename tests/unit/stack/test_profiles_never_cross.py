"""A profile never touches another profile's data: not through an exported `telemetry env`,
not through a data folder or catalog of the other's, not by new secrets over old data."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry.core.config import (
    ENV_DEFAULTS_MARK,
    ENV_PROFILE_MARK,
    PROFILE_FILE,
    SECRETS_FILE,
    data_dir_owner,
    env_marks,
    load_settings,
)
from telemetry.core.errors import ConfigError
from telemetry.ops.host.layout import Layout
from telemetry.ops.stack import cluster
from telemetry.ops.stack.profiles import flink_config_values, services_for
from telemetry.ops.stack.secrets import ensure_secrets


def exported(environ: dict[str, str]) -> dict[str, str]:
    """What `eval "$(telemetry env)"` puts into a shell whose environment is `environ`."""
    settings = load_settings(environ)
    return {
        **environ,
        **{name: value for name, value, _secret in settings.items()},
        **env_marks(settings, environ),
    }


def shell_of(profile: str, folder: Path) -> dict[str, str]:
    """A shell that exported `telemetry env` of `profile`'s stack in `folder`, as if the
    folder were the profile's default (every value printed is a default: none user-set)."""
    settings = ensure_secrets(
        load_settings({"TELEMETRY_PROFILE": profile, "TELEMETRY_DATA_DIR": str(folder)})
    )
    return {**{n: v for n, v, _s in settings.items()}, **env_marks(settings, {})}


@pytest.fixture
def local_shell(tmp_path: Path) -> dict[str, str]:
    return shell_of("local", tmp_path / "local")


def test_an_exported_local_env_does_not_steer_the_cluster_profile(
    local_shell: dict[str, str],
) -> None:
    local = load_settings(local_shell)
    settings = load_settings({**local_shell, "TELEMETRY_PROFILE": "cluster"})
    fresh = load_settings({"TELEMETRY_PROFILE": "cluster"})
    assert settings.stack.data_dir == fresh.stack.data_dir != local.stack.data_dir
    assert settings.kafka.bootstrap_servers == fresh.kafka.bootstrap_servers
    assert settings.s3.endpoint_url == fresh.s3.endpoint_url
    assert settings.flink.rest_url == fresh.flink.rest_url
    assert settings.stack.minio_console_port == fresh.stack.minio_console_port
    assert settings.s3.secret_access_key.reveal() != local.s3.secret_access_key.reveal()
    uri = settings.lake.catalog_uri.reveal()
    assert str(local.stack.data_dir) not in uri


def test_a_variable_set_after_the_export_still_wins(local_shell: dict[str, str]) -> None:
    shell = {**local_shell, "KAFKA_BOOTSTRAP_SERVERS": "broker.example:9092"}
    settings = load_settings({**shell, "TELEMETRY_PROFILE": "cluster"})
    assert settings.kafka.bootstrap_servers == "broker.example:9092"


def test_a_variable_set_before_the_export_is_not_marked_as_a_default(tmp_path: Path) -> None:
    environ = {"TELEMETRY_DATA_DIR": str(tmp_path / "d"), "TELEMETRY_TOPIC": "mine"}
    shell = exported(environ)
    marked = {entry.partition(":")[0] for entry in shell[ENV_DEFAULTS_MARK].split()}
    assert "TELEMETRY_TOPIC" not in marked and "TELEMETRY_DATA_DIR" not in marked
    assert "KAFKA_BOOTSTRAP_SERVERS" in marked and shell[ENV_PROFILE_MARK] == "local"
    assert load_settings({**shell, "TELEMETRY_PROFILE": "cluster"}).topics.topic == "mine"


def test_exporting_again_under_the_same_profile_gives_the_same_marks(
    local_shell: dict[str, str],
) -> None:
    again = exported(local_shell)
    assert again[ENV_DEFAULTS_MARK] == local_shell[ENV_DEFAULTS_MARK]


def test_an_exported_cluster_env_does_not_steer_the_local_profile(tmp_path: Path) -> None:
    shell = shell_of("cluster", tmp_path / "cluster")
    settings = load_settings({**shell, "TELEMETRY_PROFILE": "local"})
    fresh = load_settings({"TELEMETRY_PROFILE": "local"})
    assert settings.kafka.security_protocol == "PLAINTEXT"
    assert settings.kafka.bootstrap_servers == fresh.kafka.bootstrap_servers
    assert settings.stack.data_dir == fresh.stack.data_dir != tmp_path / "cluster"
    assert not settings.kafka.sasl_password
    assert settings.s3.secret_access_key.reveal() != shell["AWS_SECRET_ACCESS_KEY"]


def test_another_profiles_data_folder_is_refused_naming_the_variable(tmp_path: Path) -> None:
    ensure_secrets(load_settings({"TELEMETRY_DATA_DIR": str(tmp_path)}))
    before = (tmp_path / SECRETS_FILE).read_bytes()
    with pytest.raises(ConfigError) as refused:
        load_settings({"TELEMETRY_PROFILE": "cluster", "TELEMETRY_DATA_DIR": str(tmp_path)})
    message = str(refused.value)
    assert "\n" not in message
    assert f"TELEMETRY_DATA_DIR={tmp_path}" in message
    assert "local profile" in message and "unset TELEMETRY_DATA_DIR" in message
    assert (tmp_path / SECRETS_FILE).read_bytes() == before


def test_another_profiles_catalog_is_refused(tmp_path: Path) -> None:
    ensure_secrets(load_settings({"TELEMETRY_DATA_DIR": str(tmp_path / "local")}))
    catalog = f"sqlite:///{tmp_path / 'local' / 'iceberg' / 'catalog.db'}"
    with pytest.raises(ConfigError, match="PYICEBERG_CATALOG__TELEMETRY__URI names the local"):
        load_settings(
            {
                "TELEMETRY_PROFILE": "cluster",
                "TELEMETRY_DATA_DIR": str(tmp_path / "cluster"),
                "PYICEBERG_CATALOG__TELEMETRY__URI": catalog,
            }
        )


def test_the_first_start_marks_the_folder_as_the_profiles(tmp_path: Path) -> None:
    assert data_dir_owner(tmp_path) is None
    ensure_secrets(load_settings({"TELEMETRY_DATA_DIR": str(tmp_path)}))
    assert (tmp_path / PROFILE_FILE).read_text().strip() == "local"
    assert data_dir_owner(tmp_path) == "local"


def test_a_folder_from_before_the_mark_belongs_to_what_its_secrets_say(tmp_path: Path) -> None:
    (tmp_path / SECRETS_FILE).write_text("MINIO_ROOT_USER=root\nAWS_ACCESS_KEY_ID=x\n")
    assert data_dir_owner(tmp_path) == "cluster"
    (tmp_path / SECRETS_FILE).write_text("KAFKA_SASL_PASSWORD=y\n")
    assert data_dir_owner(tmp_path) == "cluster"
    (tmp_path / SECRETS_FILE).write_text("AWS_ACCESS_KEY_ID=x\nAWS_SECRET_ACCESS_KEY=z\n")
    assert data_dir_owner(tmp_path) == "local"


def test_secrets_are_never_generated_over_a_stacks_data(tmp_path: Path) -> None:
    (tmp_path / "minio").mkdir()
    (tmp_path / "iceberg").mkdir()
    with pytest.raises(ConfigError) as refused:
        ensure_secrets(load_settings({"TELEMETRY_DATA_DIR": str(tmp_path)}))
    message = str(refused.value)
    assert "\n" not in message and "secrets.env is missing" in message
    assert "iceberg, minio" in message and "make clean" in message
    assert not (tmp_path / SECRETS_FILE).exists()
    assert not (tmp_path / PROFILE_FILE).exists()


def test_a_folder_with_only_logs_and_pid_files_gets_fresh_secrets(tmp_path: Path) -> None:
    for folder in ("run", "logs"):
        (tmp_path / folder).mkdir()
    settings = ensure_secrets(load_settings({"TELEMETRY_DATA_DIR": str(tmp_path)}))
    assert settings.s3.secret_access_key.reveal()


def test_the_two_profiles_use_no_port_in_common(tmp_path: Path) -> None:
    used = {}
    for profile in ("local", "cluster"):
        environ = {"TELEMETRY_PROFILE": profile, "TELEMETRY_DATA_DIR": str(tmp_path / profile)}
        settings = load_settings(environ)
        ports = {port for s in services_for(settings) for port in s.ports(settings).values()}
        used[profile] = ports | {settings.stack.live_port, settings.flink.port}
    local_flink = flink_config_values(load_settings({}), Layout.of(load_settings({})))
    used["local"] |= {int(local_flink[k]) for k in ("JM_RPC_PORT", "TM_DATA_PORT", "TM_RPC_PORT")}
    used["cluster"] |= {cluster.JM_RPC_PORT, cluster.BLOB_PORT, cluster.REGISTRY_INTERNAL_PORT}
    used["cluster"] |= {port for pair in cluster.TASKMANAGERS for port in pair}
    assert not used["local"] & used["cluster"], sorted(used["local"] & used["cluster"])
