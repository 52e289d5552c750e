"""The pinned versions agree across ops/host/versions.py, the Maven manifest and Docker."""

from __future__ import annotations

import re
from pathlib import Path

from telemetry.ops.host import versions

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


def _flink_lib_dependencies() -> list[tuple[str, str]]:
    """(artifactId, version) of each jar infra/maven/flink/pom.xml puts in Flink's lib/."""
    import xml.etree.ElementTree as ET

    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    pom = ET.parse(ROOT / "infra" / "maven" / "flink" / "pom.xml").getroot()
    found = []
    for dependency in pom.findall("m:dependencies/m:dependency", ns):
        version = dependency.findtext("m:version", namespaces=ns) or ""
        if version.startswith("${"):
            version = _pom_property(version[2:-1])
        found.append((dependency.findtext("m:artifactId", namespaces=ns) or "", version))
    return found


def _dockerfile_jars() -> set[str]:
    """The jar file names the Flink image fetches into lib/, its ARGs substituted."""
    dockerfile = (ROOT / "infra" / "docker" / "flink.Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, flags=re.MULTILINE))
    names = re.findall(r"/([\w.${}-]+\.jar) \\$", dockerfile, flags=re.MULTILINE)
    return {re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], name) for name in names}


def test_the_flink_image_fetches_the_jars_of_the_local_flink_lib() -> None:
    jars = _dockerfile_jars()
    for artifact, version in _flink_lib_dependencies():
        assert f"{artifact}-{version}.jar" in jars, f"{artifact} {version} not in the image"
    assert {"iceberg-flink-runtime-2.1", "iceberg-aws-bundle", "postgresql"} <= {
        artifact for artifact, _ in _flink_lib_dependencies()
    }
    assert not any(j.startswith(("flink-parquet", "parquet-")) for j in jars), "the old lake"
