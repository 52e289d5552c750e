"""The Docker compose stack is valid for `docker compose` and agrees with the local stack.

`docker-compose config` (built from compose's Go module, no engine needed)
parses the file, validates it against the compose specification and
interpolates its variables: the tests run it and prove that it rejects broken
copies. The rest keeps compose consistent with the local configuration.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from telemetry.core.config import ENV_VARS, load_settings
from telemetry.core.contract import JOB_NAME
from telemetry.ops.host import versions
from telemetry.ops.stack.manifest_tools import ManifestTools

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "infra" / "docker"
COMPOSE = DOCKER / "docker-compose.yml"
COMPOSE_ENV = DOCKER / "compose.env"
LOCAL_SECRETS = DOCKER / "local.secrets.env"
DOCKERFILE = DOCKER / "flink.Dockerfile"
FLINK_DEPLOYMENT = ROOT / "infra" / "k8s" / "flink-deployment.yaml"


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _host_ports(service: str) -> set[int]:
    """Published host ports; entries are [IP:]HOST:CONTAINER."""
    ports = _compose()["services"][service].get("ports", [])
    return {int(str(p).rsplit(":", 2)[-2]) for p in ports}


def _env_file(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {k: v for k, v in pairs}


def _compose_env() -> dict[str, str]:
    return _env_file(COMPOSE_ENV)


def _compose_config(
    tools: ManifestTools, home: Path, compose: Path = COMPOSE, env_file: Path | None = LOCAL_SECRETS
) -> subprocess.CompletedProcess[str]:
    """`docker-compose -f COMPOSE [--env-file F] config --quiet` in a clean environment."""
    command = [str(tools.compose), "-f", str(compose)]
    if env_file is not None:
        command += ["--env-file", str(env_file)]
    # No variable of the caller's shell (AWS_* above all) may satisfy the file.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    return subprocess.run(
        [*command, "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=ROOT,
    )


def _broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    """The compose file with one edit, in tmp_path (`config` does not need the build context)."""
    text = COMPOSE.read_text()
    assert old in text, old
    out = tmp_path / "docker-compose.yml"
    out.write_text(text.replace(old, new, 1))
    return out


# docker-compose config ----------------------------------------------------------


def test_docker_compose_accepts_the_file_with_the_local_secrets(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    result = _compose_config(manifest_tools, tmp_path)
    assert result.returncode == 0, result.stderr


def test_docker_compose_accepts_an_unedited_copy_elsewhere(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    """The control for the broken copies below: only their edit can make them fail."""
    copy = _broken_copy(tmp_path, "name: telemetry-pipeline", "name: telemetry-pipeline")
    assert _compose_config(manifest_tools, tmp_path, compose=copy).returncode == 0


def test_docker_compose_rejects_the_file_without_a_required_secret(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    partial = tmp_path / "partial.env"
    partial.write_text("AWS_ACCESS_KEY_ID=someone\nPOSTGRES_PASSWORD=something\n")
    result = _compose_config(manifest_tools, tmp_path, env_file=partial)
    assert result.returncode != 0
    assert "required variable AWS_SECRET_ACCESS_KEY is missing a value" in result.stderr
    assert "AWS_ACCESS_KEY_ID is missing" not in result.stderr


def test_docker_compose_rejects_an_unknown_service_key(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    bad = _broken_copy(tmp_path, "    restart: on-failure", "    restrat: on-failure")
    result = _compose_config(manifest_tools, tmp_path, compose=bad)
    assert result.returncode != 0
    assert "restrat" in result.stderr


def test_docker_compose_rejects_a_wrong_type(manifest_tools: ManifestTools, tmp_path: Path) -> None:
    bad = _broken_copy(tmp_path, "      retries: 30", "      retries: many")
    result = _compose_config(manifest_tools, tmp_path, compose=bad)
    assert result.returncode != 0
    assert "retries" in result.stderr


def test_docker_compose_rejects_a_dependency_on_a_missing_service(
    manifest_tools: ManifestTools, tmp_path: Path
) -> None:
    bad = _broken_copy(tmp_path, "depends_on: [flink-jobmanager]", "depends_on: [flink-jobmanagr]")
    result = _compose_config(manifest_tools, tmp_path, compose=bad)
    assert result.returncode != 0
    assert 'undefined service "flink-jobmanagr"' in result.stderr


def test_the_compose_binary_is_the_pinned_version(manifest_tools: ManifestTools) -> None:
    result = subprocess.run(
        [str(manifest_tools.compose), "version", "--short"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip().lstrip("v") == versions.COMPOSE.lstrip("v")


# Secrets and the job ----------------------------------------------------------


def _flink_properties() -> dict[str, str]:
    text = _compose()["services"]["flink-jobmanager"]["environment"]["FLINK_PROPERTIES"]
    return dict(line.split(": ", 1) for line in text.strip().splitlines())


def test_secrets_are_required_variables_never_flink_configuration() -> None:
    text = COMPOSE.read_text()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "POSTGRES_PASSWORD"):
        # Only as required interpolations (or the shell's own $$VAR): no default value.
        assert not re.search(rf"\$\{{{name}:?-", text), name
        assert f"${{{name}:?" in text
    properties = _flink_properties()
    assert not {"s3.access-key", "s3.secret-key"} & set(properties)
    assert properties["web.submit.enable"] == "false"
    assert set(_env_file(LOCAL_SECRETS)) == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "POSTGRES_PASSWORD",
    }


def test_both_flink_containers_get_the_secrets_as_environment() -> None:
    services = _compose()["services"]
    for name in ("flink-jobmanager", "flink-taskmanager"):
        env = services[name]["environment"]
        assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(env), name


def test_compose_runs_the_job_in_application_mode_as_kubernetes_does() -> None:
    command: list[str] = _compose()["services"]["flink-jobmanager"]["command"]
    assert command[:3] == [
        "standalone-job",
        "--job-classname",
        "org.apache.flink.client.python.PythonDriver",
    ]
    k8s_job = yaml.safe_load(FLINK_DEPLOYMENT.read_text())["spec"]["job"]
    assert command[3:] == k8s_job["args"]
    assert command[command.index("--name") + 1] == JOB_NAME


def test_the_image_provides_what_the_job_arguments_name() -> None:
    dockerfile = DOCKERFILE.read_text()
    command: list[str] = _compose()["services"]["flink-jobmanager"]["command"]
    for path in (command[command.index("-py") + 1], command[command.index("--jar") + 1]):
        assert f"/opt/flink/usrlib/{Path(path).name}" in dockerfile, path
    assert "pip install --no-cache-dir /opt/telemetry" in dockerfile
    # Every COPY source from the build context exists (context: the repository root).
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, flags=re.MULTILINE):
        for item in source.split():
            assert (ROOT / item).exists(), item


# Agreement with the local stack ----------------------------------------------------


def test_compose_publishes_the_local_stack_ports() -> None:
    local = load_settings({})
    assert local.kafka.port in _host_ports("kafka")
    assert local.registry.port in _host_ports("schema-registry")
    assert {local.s3.port, local.stack.minio_console_port} <= _host_ports("minio")
    assert local.flink.port in _host_ports("flink-jobmanager")


def test_compose_creates_the_buckets_and_topics_of_the_local_stack() -> None:
    local = load_settings({})
    services = _compose()["services"]
    buckets = " ".join(services["minio-init"]["entrypoint"])
    assert f"local/{local.lake.bucket}" in buckets
    assert f"local/{local.job.checkpoint_bucket}" in buckets
    topics = " ".join(services["kafka-init"]["entrypoint"])
    assert local.topics.topic in topics and local.topics.dlq_topic in topics
    assert f"--partitions {local.topics.partitions}" in topics
    flink_env = services["flink-jobmanager"]["environment"]
    assert flink_env["TELEMETRY_TOPIC"] == local.topics.topic
    assert flink_env["TELEMETRY_DLQ_TOPIC"] == local.topics.dlq_topic
    assert flink_env["TELEMETRY_BUCKET"] == local.lake.bucket
    assert flink_env["TELEMETRY_CHECKPOINT_BUCKET"] == local.job.checkpoint_bucket


def test_compose_env_uses_only_known_variable_names_and_local_values() -> None:
    known = {var.name for var in ENV_VARS}
    env = _compose_env()
    assert set(env) <= known
    local = load_settings({})
    for name, value in env.items():
        if name == "SCHEMA_REGISTRY_URL":  # Confluent serves its API at the root
            assert value == local.registry.base_url
        elif name == "PYICEBERG_CATALOG__TELEMETRY__URI":  # compose's PostgreSQL, not SQLite
            assert value == "postgresql+psycopg2://telemetry@127.0.0.1:5432/iceberg"
            assert "5432" in " ".join(_compose()["services"]["postgres"]["ports"])
        else:
            assert value == dict((n, v) for n, v, _ in local.items())[name], name


def test_the_flink_containers_get_the_catalog_password_only_as_a_pgpass_file() -> None:
    services = _compose()["services"]
    for name in ("flink-jobmanager", "flink-taskmanager"):
        env = services[name]["environment"]
        uri = load_settings({"PYICEBERG_CATALOG__TELEMETRY__URI": env[
            "PYICEBERG_CATALOG__TELEMETRY__URI"
        ]}).lake.catalog_uri.reveal()  # fmt: skip
        assert "POSTGRES_PASSWORD" not in str(env) and "@postgres:5432/" in uri, name
        pgpass = Path(env["PGPASSFILE"]).parent
        assert f"postgres-pgpass:{pgpass}:ro" in services[name]["volumes"], name
    assert "/pgpass/pgpass" in " ".join(services["postgres-pgpass"]["entrypoint"])
