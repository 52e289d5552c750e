"""The pinned versions agree across telemetry/versions.py, the Maven manifest and Docker."""

from __future__ import annotations

import re
from pathlib import Path

from telemetry import versions

ROOT = Path(__file__).resolve().parents[2]


def _pom_property(name: str) -> str:
    text = (ROOT / "infra" / "maven" / "pom.xml").read_text()
    match = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", text)
    assert match, f"{name} missing from infra/maven/pom.xml"
    return match.group(1)


def test_maven_manifest_pins_the_same_versions_as_the_code() -> None:
    assert _pom_property("kafka.version") == versions.KAFKA
    assert _pom_property("flink.version") == versions.FLINK
    assert _pom_property("flink.kafka.connector.version") == versions.FLINK_KAFKA_CONNECTOR
    assert _pom_property("hadoop.version") == versions.HADOOP
    assert _pom_property("apicurio.version") == versions.APICURIO


def test_installed_pyflink_is_the_flink_the_cluster_runs() -> None:
    from importlib.metadata import version

    assert version("apache-flink") == versions.FLINK
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'"apache-flink=={versions.FLINK}"' in pyproject


def test_docker_images_use_the_same_versions() -> None:
    compose = (ROOT / "infra" / "docker" / "docker-compose.yml").read_text()
    dockerfile = (ROOT / "infra" / "docker" / "flink.Dockerfile").read_text()
    assert f"apache/kafka:{versions.KAFKA}" in compose
    assert f"FROM flink:{versions.FLINK}-" in dockerfile
    assert f"ARG FLINK={versions.FLINK}" in dockerfile
    assert f"ARG KAFKA_CONNECTOR={versions.FLINK_KAFKA_CONNECTOR}" in dockerfile
    assert f"ARG HADOOP={versions.HADOOP}" in dockerfile
