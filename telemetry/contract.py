"""Names and places every part of the pipeline agrees on: one fact, one home.

The job's name and jar, where its checkpoints and savepoints live, and the
lake's layout: where windows and late events go, how an hour's folder and a
file are named, and the markers downstream readers rely on. The job, its
management, the reader, the pipeline's landing check, the benches and the
tests import them from here.

Lake layout (TELEMETRY_BUCKET)::

    <prefix>/year=YYYY/month=MM/day=DD/hour=HH/part-<uuid>-<task>-<n>.parquet
    <prefix>/year=YYYY/month=MM/day=DD/hour=HH/compacted-<uuid>.parquet   (a closed hour)
    <prefix>/year=YYYY/month=MM/day=DD/hour=HH/_MANIFEST.json   (a closed hour's files)
    <prefix>/year=YYYY/month=MM/day=DD/hour=HH/_SUCCESS         (the hour is closed)
    <prefix>-late/...                                            (late events, same layout)

The hour is that of `window_start` (windows) or of the event time (late
events), UTC. Names starting with `.` (files being written) or `_` (markers)
are not data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from telemetry.config import Settings, repo_root
from telemetry.errors import InvalidInputError

__all__ = [
    "DATA_SUFFIX",
    "IGNORED_PREFIXES",
    "JAR_NAME",
    "JOB_NAME",
    "MANIFEST",
    "PARTITION_FIELDS",
    "SUCCESS_FILE",
    "WINDOWS_PREFIX",
    "checkpoint_prefix",
    "hour_path",
    "job_jar",
    "job_script",
    "late_prefix",
    "savepoint_prefix",
    "state_uri",
]

JOB_NAME = "telemetry-windows"
JAR_NAME = "telemetry-flink-functions-0.1.0.jar"

# The lake: prefixes in TELEMETRY_BUCKET, partitions, file names and markers.
WINDOWS_PREFIX = "telemetry"
PARTITION_FIELDS = ("year", "month", "day", "hour")
DATA_SUFFIX = ".parquet"
MANIFEST = (
    "_MANIFEST.json"  # a compacted hour's files (dev.telemetry.flink.lake.CompactClosedPartition)
)
SUCCESS_FILE = "_SUCCESS"  # written when an hour is closed: the signal for downstream schedulers
IGNORED_PREFIXES = (".", "_")

# Keys in TELEMETRY_CHECKPOINT_BUCKET: one folder per job name, so the newest
# state of a job is found by its name even after the cluster forgot the job.
_CHECKPOINTS = "checkpoints"
_SAVEPOINTS = "savepoints"


def _root() -> Path:
    root = repo_root()
    if root is None:
        raise InvalidInputError("cannot find flink/; run from an editable install of the checkout")
    return root


def job_script() -> Path:
    return _root() / "flink" / "telemetry_job.py"


def job_jar() -> Path:
    return _root() / "flink" / "jvm" / "target" / JAR_NAME


_LATE_SUFFIX = "-late"


def late_prefix(prefix: str = WINDOWS_PREFIX) -> str:
    """Where the late events of the windows under `prefix` go."""
    return f"{prefix.rstrip('/')}{_LATE_SUFFIX}"


def is_late_location(path: str) -> bool:
    """True for a prefix, folder or file under a late-events prefix."""
    return any(part.endswith(_LATE_SUFFIX) for part in path.split("/"))


def hour_path(prefix: str, moment: datetime) -> str:
    """The folder of the UTC hour of `moment` under `prefix` (naive datetimes are UTC)."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{prefix.rstrip('/')}/year={utc:%Y}/month={utc:%m}/day={utc:%d}/hour={utc:%H}"


def checkpoint_prefix(name: str) -> str:
    """Key prefix of a job's checkpoints: `<prefix>/<job id>/chk-<n>/_metadata`."""
    return f"{_CHECKPOINTS}/{name}"


def savepoint_prefix(name: str) -> str:
    """Key prefix of a job's savepoints: `<prefix>/savepoint-<id6>-<random>/_metadata`."""
    return f"{_SAVEPOINTS}/{name}"


def state_uri(settings: Settings, prefix: str) -> str:
    return f"s3://{settings.telemetry_checkpoint_bucket}/{prefix}"
