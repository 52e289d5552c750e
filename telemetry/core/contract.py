"""Names and places every part of the pipeline agrees on: one fact, one home.

The job's name and jar, and where its checkpoints and savepoints live. The
job, its management, the benches and the tests import them from here. The
lake's tables are telemetry.core.lake's.

Some facts are declared in Java as well (flink/jvm, the job's JVM half): the
jar's name, the decoder's metadata columns and counters, the timeout of the
job's Kafka transactions. tests/unit/test_cross_language.py reads the Java
declarations and fails when the two differ.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from telemetry.core.bundled import bundled
from telemetry.core.config import Settings, load_settings

__all__ = [
    "DECODED_METRIC",
    "FAILED_METRIC",
    "JAR_NAME",
    "JOB_NAME",
    "METADATA_COLUMNS",
    "TRANSACTION_TIMEOUT_MS",
    "checkpoint_prefix",
    "failed_metric",
    "job_jar",
    "job_script",
    "job_sources",
    "savepoint_prefix",
    "state_uri",
]

JOB_NAME = "telemetry-windows"
JAR_NAME = "telemetry-flink-functions-0.1.0.jar"  # flink/jvm/pom.xml: artifactId-version.jar

# The decoder's rows (ConfluentAvroRecordDeserializer.METADATA_COLUMNS): these columns
# follow the reader schema's fields, in this order. `error` is null when the record
# decoded, else "<reason>: <detail>" (a reason of telemetry.core.dlq.headers.REASONS).
METADATA_COLUMNS = (
    "schema_id",
    "error",
    "payload",
    "kafka_key",
    "kafka_partition",
    "kafka_offset",
    "kafka_timestamp",
)

# The decoder's counters, on the Kafka source's metric group (Flink REST metric names).
DECODED_METRIC = "telemetryRecordsDecoded"
FAILED_METRIC = "telemetryRecordsFailed"  # every dead letter, whatever its reason

# The job's Kafka transactions (aggregate topics, dead letters), in ms: the brokers'
# default transaction.max.timeout.ms, so a long recovery does not abort them
# (AggregateTopics.TRANSACTION_TIMEOUT_MS; the dead-letter sink's option).
TRANSACTION_TIMEOUT_MS = 900_000

# Keys in TELEMETRY_CHECKPOINT_BUCKET: one folder per job name, so the newest
# state of a job is found by its name even after the cluster forgot the job.
_CHECKPOINTS = "checkpoints"
_SAVEPOINTS = "savepoints"


def job_script() -> Path:
    """flink/telemetry_job.py, as the package ships it (telemetry.core.config.bundled)."""
    return bundled("flink") / "telemetry_job.py"


def job_sources() -> Path:
    """flink/jvm, the Maven module of the job's JVM functions, as the package ships it."""
    return bundled("flink") / "jvm"


def job_jar(settings: Settings | None = None) -> Path:
    """The jar `telemetry setup` builds from job_sources() (`mvn -Djar.dir=<its folder>`):
    in TELEMETRY_CACHE_DIR (of `settings`, or loaded), one folder per version of the
    sources, so a change to them means a new build, and checkouts and installs of the
    same sources share one."""
    cache = (settings if settings is not None else load_settings()).stack.cache_dir
    return cache / f"job-jar-{_sources_hash(job_sources())}" / JAR_NAME


def _sources_hash(module: Path) -> str:
    """Hash of the module's pom.xml and src/ (relative paths and contents)."""
    digest = hashlib.sha256()
    files = [module / "pom.xml", *(module / "src").rglob("*")]
    for path in sorted(p for p in files if p.is_file()):
        digest.update(path.relative_to(module).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def failed_metric(reason: str) -> str:
    """The decoder's counter of one reason (FailureReason.metricName()): `corrupt` ->
    `telemetryFailed_corrupt`, `bad-magic` -> `telemetryFailed_bad_magic`."""
    return "telemetryFailed_" + reason.replace("-", "_")


def checkpoint_prefix(name: str) -> str:
    """Key prefix of a job's checkpoints: `<prefix>/<job id>/chk-<n>/_metadata`."""
    return f"{_CHECKPOINTS}/{name}"


def savepoint_prefix(name: str) -> str:
    """Key prefix of a job's savepoints: `<prefix>/savepoint-<id6>-<random>/_metadata`."""
    return f"{_SAVEPOINTS}/{name}"


def state_uri(settings: Settings, prefix: str) -> str:
    return f"s3://{settings.job.checkpoint_bucket}/{prefix}"
