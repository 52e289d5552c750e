"""The Docker compose stack agrees with the local stack's configuration."""

from __future__ import annotations

from pathlib import Path

import yaml

from telemetry.config import ENV_VARS, load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "infra" / "docker" / "docker-compose.yml"
COMPOSE_ENV = ROOT / "infra" / "docker" / "compose.env"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _host_ports(service: str) -> set[int]:
    ports = _compose()["services"][service].get("ports", [])
    return {int(str(p).split(":")[0]) for p in ports}


def _compose_env() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in COMPOSE_ENV.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {k: v for k, v in pairs}


def test_compose_publishes_the_local_stack_ports() -> None:
    local = load_settings({})
    assert local.kafka_port in _host_ports("kafka")
    assert local.registry_port in _host_ports("schema-registry")
    assert {local.s3_port, local.minio_console_port} <= _host_ports("minio")
    assert local.flink_port in _host_ports("flink-jobmanager")


def test_compose_creates_the_buckets_and_uses_the_topic_of_the_local_stack() -> None:
    local = load_settings({})
    init = " ".join(_compose()["services"]["minio-init"]["entrypoint"].split())
    assert f"local/{local.telemetry_bucket}" in init
    assert f"local/{local.telemetry_checkpoint_bucket}" in init
    flink_env = _compose()["services"]["flink-jobmanager"]["environment"]
    assert flink_env["TELEMETRY_TOPIC"] == local.telemetry_topic
    assert flink_env["TELEMETRY_BUCKET"] == local.telemetry_bucket


def test_compose_env_uses_only_known_variable_names_and_local_values() -> None:
    known = {var.name for var in ENV_VARS}
    env = _compose_env()
    assert set(env) <= known
    local = load_settings({})
    for name, value in env.items():
        if name == "SCHEMA_REGISTRY_URL":  # Confluent serves its API at the root
            assert value == local.registry_base_url
        else:
            assert value == dict((n, v) for n, v, _ in local.items())[name], name
