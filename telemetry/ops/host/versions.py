"""Pinned versions of the servers the local stack runs.

Kept in step with infra/maven/pom.xml and Docker's files (a unit test
checks them). Changing one means a new cache folder, so old downloads are
never mixed with new ones.
"""

from __future__ import annotations

KAFKA = "4.1.1"
FLINK = "2.2.0"
FLINK_KAFKA_CONNECTOR = "5.0.0-2.2"
HADOOP = "3.4.2"
APICURIO = "3.3.3"
MINIO = "v0.0.0-20260212201848-7aac2a2c5b7c"
# MinIO's client, which gives the cluster profile's clients a user of their own. mc has no
# tagged module versions: this is its newest commit (2025-11-06) as a pseudo-version.
MC = "v0.0.0-20251106162529-77f82e18b540"
# Docker's compose CLI, built from its Go module to check infra/docker without
# an engine (telemetry/ops/stack/manifest_tools.py). v5.6.0 is the newest release
# whose go.mod accepts the Go 1.26.8 this project builds with (v5.7.x needs 1.26.10).
COMPOSE = "v5.6.0"

# uPlot, the live page's chart (`telemetry live`): the npm package, fetched by `make setup`
# into the cache and served from there (no CDN).
UPLOT = "1.6.32"

# The cluster profile's catalog database: Debian 12's PostgreSQL (postgresql-15),
# unpacked from its packages; the major version names its cache and data folders.
POSTGRES_MAJOR = 15

# Minimum Java feature versions: Kafka 4 and Flink 2 need 17; Apicurio 3.3 is
# compiled for 21.
JAVA_MIN = 17
APICURIO_JAVA_MIN = 21


def stack_fingerprint() -> str:
    """A short name for this combination of versions, used as the cache folder."""
    return f"kafka-{KAFKA}_flink-{FLINK}_apicurio-{APICURIO}_minio-{MINIO[-12:]}"
