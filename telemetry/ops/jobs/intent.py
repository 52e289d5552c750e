"""Which jobs the user wants running on the local stack, so they come back after a crash.

`telemetry job submit` remembers a job (its parameters, in the data directory);
`cancel` and `stop` forget it. `telemetry up` and the supervisor resume every
remembered job that is not running, from its newest retained state.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from pathlib import Path

from telemetry.core.config import Settings
from telemetry.core.job_params import JobParams
from telemetry.ops.host.process import locked

__all__ = ["forget", "remember", "remembered", "resuming"]


def _folder(settings: Settings) -> Path:
    return settings.stack.data_dir / "jobs"


def remember(settings: Settings, params: JobParams) -> None:
    folder = _folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{params.name}.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(params.as_dict(), indent=2), encoding="utf-8")
    tmp.replace(target)


def forget(settings: Settings, name: str) -> None:
    (_folder(settings) / f"{name}.json").unlink(missing_ok=True)


def remembered(settings: Settings) -> list[JobParams]:
    params = []
    for path in sorted(_folder(settings).glob("*.json")):
        try:
            params.append(JobParams(**json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue  # a damaged file is not a reason to fail `up`
    return params


def resuming(settings: Settings) -> AbstractContextManager[None]:
    """The lock that makes resumes one at a time (`up` and the supervisor)."""
    return locked(_folder(settings) / ".resume.lock")
