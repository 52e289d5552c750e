"""Names and places every part of the pipeline agrees on: one fact, one home.

The job's name and jar, and where its checkpoints and savepoints live. The
job, its management, the benches and the tests import them from here. The
lake's tables are telemetry.lake's.
"""

from __future__ import annotations

from pathlib import Path

from telemetry.config import Settings, repo_root
from telemetry.errors import InvalidInputError

__all__ = [
    "JAR_NAME",
    "JOB_NAME",
    "checkpoint_prefix",
    "job_jar",
    "job_script",
    "savepoint_prefix",
    "state_uri",
]

JOB_NAME = "telemetry-windows"
JAR_NAME = "telemetry-flink-functions-0.1.0.jar"

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


def checkpoint_prefix(name: str) -> str:
    """Key prefix of a job's checkpoints: `<prefix>/<job id>/chk-<n>/_metadata`."""
    return f"{_CHECKPOINTS}/{name}"


def savepoint_prefix(name: str) -> str:
    """Key prefix of a job's savepoints: `<prefix>/savepoint-<id6>-<random>/_metadata`."""
    return f"{_SAVEPOINTS}/{name}"


def state_uri(settings: Settings, prefix: str) -> str:
    return f"s3://{settings.telemetry_checkpoint_bucket}/{prefix}"
