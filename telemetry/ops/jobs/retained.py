"""A job's retained state on S3: its newest checkpoint or savepoint, and what wrote it.

Checkpoints live under `checkpoints/<job name>/<job id>/chk-<n>/`, savepoints
under `savepoints/<job name>/savepoint-<id6>-<random>/`; a complete one has a
`_metadata` file. Beside each job id's checkpoints, `telemetry job submit`
leaves a manifest (`_telemetry_job.json`: the job's parameters), so a resume
can check that the state belongs to a job with the same window, source and
output before Flink restores it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from telemetry.core.config import Settings
from telemetry.core.contract import checkpoint_prefix, savepoint_prefix, state_uri
from telemetry.core.errors import StorageError
from telemetry.core.job_params import JobParams
from telemetry.core.storage.s3 import s3_client

__all__ = [
    "RetainedState",
    "latest_retained",
    "prune_other_runs",
    "read_manifest",
    "write_manifest",
]

MANIFEST = "_telemetry_job.json"


@dataclass(frozen=True)
class RetainedState:
    """A complete checkpoint or savepoint of a job."""

    path: str  # s3://bucket/checkpoints/<name>/<job id>/chk-12 (what `flink run -s` takes)
    kind: str  # "checkpoint" or "savepoint"
    job_id: str  # the writer's job id (a savepoint names only its first 6 hex digits)
    taken_at: datetime

    def describe(self, now: datetime | None = None) -> str:
        age = ((now or datetime.now(UTC)) - self.taken_at).total_seconds()
        when = f"{age:.0f} s ago" if age < 120 else f"{age / 60:.0f} min ago"
        return f"{self.kind} {self.path} ({when})"


def _list(settings: Settings, prefix: str) -> list[dict]:

    client = s3_client(settings)
    objects: list[dict] = []
    try:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=settings.job.checkpoint_bucket, Prefix=prefix + "/"
        )
        for page in pages:
            objects += page.get("Contents", [])
    except (BotoCoreError, ClientError) as exc:
        raise StorageError(
            f"cannot list {state_uri(settings, prefix)} at {settings.s3.endpoint_url}: {exc}"
        ) from exc
    return objects


def latest_retained(settings: Settings, name: str) -> RetainedState | None:
    """The newest complete checkpoint or savepoint of the job named `name`, if any."""
    found: list[RetainedState] = []
    for kind, prefix in (
        ("checkpoint", checkpoint_prefix(name)),
        ("savepoint", savepoint_prefix(name)),
    ):
        for obj in _list(settings, prefix):
            key = obj["Key"]
            parts = key[len(prefix) + 1 :].split("/")
            if parts[-1] != "_metadata":
                continue
            if kind == "checkpoint" and len(parts) == 3 and parts[1].startswith("chk-"):
                job_id = parts[0]
            elif kind == "savepoint" and len(parts) == 2 and parts[0].startswith("savepoint-"):
                job_id = parts[0].split("-")[1]
            else:
                continue
            folder = key.rsplit("/", 1)[0]
            found.append(
                RetainedState(state_uri(settings, folder), kind, job_id, obj["LastModified"])
            )
    return max(found, key=lambda s: (s.taken_at, _chk_number(s.path)), default=None)


def _chk_number(path: str) -> int:
    tail = path.rsplit("/", 1)[-1]
    return int(tail[4:]) if tail.startswith("chk-") and tail[4:].isdigit() else -1


def _manifest_key(name: str, job_id: str) -> str:
    return f"{checkpoint_prefix(name)}/{job_id}/{MANIFEST}"


def write_manifest(
    settings: Settings, params: JobParams, job_id: str, resumed_from: str | None
) -> None:

    body = {
        "job_id": job_id,
        "params": params.as_dict(),
        "submitted_at": datetime.now(UTC).isoformat(),
        "resumed_from": resumed_from,
    }
    try:
        s3_client(settings).put_object(
            Bucket=settings.job.checkpoint_bucket,
            Key=_manifest_key(params.name, job_id),
            Body=json.dumps(body, indent=2).encode(),
            ContentType="application/json",
        )
    except (BotoCoreError, ClientError) as exc:
        raise StorageError(f"cannot write the job manifest of {job_id}: {exc}") from exc


def read_manifest(settings: Settings, name: str, job_id: str) -> JobParams | None:
    """The parameters `job_id` (or a job whose id starts with it) was submitted with."""

    client = s3_client(settings)
    key = _manifest_key(name, job_id)
    if len(job_id) < 32:  # a savepoint's 6-digit prefix: find the full id
        matches = [
            o["Key"]
            for o in _list(settings, checkpoint_prefix(name))
            if o["Key"].endswith("/" + MANIFEST) and o["Key"].split("/")[-2].startswith(job_id)
        ]
        if len(matches) != 1:
            return None
        key = matches[0]
    try:
        body = client.get_object(Bucket=settings.job.checkpoint_bucket, Key=key)["Body"]
        params = json.loads(body.read())["params"]
        return JobParams(**params)
    except client.exceptions.NoSuchKey:
        return None
    except (BotoCoreError, ClientError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"cannot read the job manifest {key}: {exc}") from exc


def prune_other_runs(settings: Settings, name: str, keep_job_ids: set[str]) -> int:
    """Delete the checkpoints of earlier runs of `name` except `keep_job_ids`; returns objects."""

    prefix = checkpoint_prefix(name)
    doomed = [
        {"Key": o["Key"]}
        for o in _list(settings, prefix)
        if o["Key"][len(prefix) + 1 :].split("/")[0] not in keep_job_ids
    ]
    client = s3_client(settings)
    try:
        for start in range(0, len(doomed), 1000):
            client.delete_objects(
                Bucket=settings.job.checkpoint_bucket,
                Delete={"Objects": doomed[start : start + 1000], "Quiet": True},
            )
    except (BotoCoreError, ClientError) as exc:
        raise StorageError(f"cannot delete old checkpoints under {prefix}: {exc}") from exc
    return len(doomed)
