"""The telemetry Flink job on a session cluster: submit, find, stop with a savepoint, cancel.

Submission goes through the `flink` client (`flink run -d -py`); everything
else through the JobManager's REST API at FLINK_REST_URL.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telemetry.config import Settings, repo_root
from telemetry.errors import InvalidInputError, ServiceError

JOB_NAME = "telemetry-windows"
ACTIVE_STATES = {"CREATED", "INITIALIZING", "RUNNING", "RESTARTING", "RECONCILING", "FAILING"}


@dataclass(frozen=True)
class JobInfo:
    job_id: str
    name: str
    state: str
    start_time_ms: int
    duration_ms: int


def job_script() -> Path:
    root = repo_root()
    if root is None:
        raise InvalidInputError("cannot find flink/telemetry_job.py; run from the checkout")
    return root / "flink" / "telemetry_job.py"


def job_jar() -> Path:
    root = repo_root()
    assert root is not None
    return root / "flink" / "jvm" / "target" / "telemetry-flink-functions-0.1.0.jar"


def _rest(settings: Settings, method: str, path: str, body: dict | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{settings.flink_rest_url}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"} if data else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise ServiceError(f"Flink REST {method} {path} failed ({exc.code}): {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ServiceError(
            f"Flink at {settings.flink_rest_url} is unreachable ({exc}); start it with `make up`"
        ) from exc
    return json.loads(payload) if payload else None


def list_jobs(settings: Settings) -> list[JobInfo]:
    overview = _rest(settings, "GET", "/jobs/overview")
    return [
        JobInfo(j["jid"], j["name"], j["state"], j.get("start-time", 0), j.get("duration", 0))
        for j in overview.get("jobs", [])
    ]


def active_job(settings: Settings, name: str = JOB_NAME) -> JobInfo | None:
    for job in list_jobs(settings):
        if job.name == name and job.state in ACTIVE_STATES:
            return job
    return None


def submit(
    settings: Settings,
    *,
    name: str = JOB_NAME,
    savepoint: str | None = None,
    job_args: list[str] | None = None,
    wait_running: float = 120.0,
) -> JobInfo:
    """Submit the job unless a copy of it is active; wait until it runs."""
    from telemetry.flink_cli import run_python_job

    existing = active_job(settings, name)
    if existing is not None:
        raise InvalidInputError(
            f"job {name} is already {existing.state.lower()} ({existing.job_id}); "
            "cancel it first with `telemetry job cancel`"
        )
    jar = job_jar()
    if not jar.is_file():
        raise ServiceError(f"{jar} is missing; build it with `make setup`")
    extra = ["-s", savepoint] if savepoint else []
    args = ["--name", name, "--jar", str(jar), *(job_args or [])]
    result = run_python_job(settings, job_script(), args, detached=True, extra=extra)
    if result.returncode != 0:
        lines = [ln for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
        cause = next((ln for ln in reversed(lines) if "Caused by" in ln or "Error" in ln), "")
        raise ServiceError(
            f"`flink run` failed (exit {result.returncode}): "
            f"{cause or (lines[-1] if lines else 'no output')}"
        )
    deadline = time.monotonic() + wait_running
    while time.monotonic() < deadline:
        job = active_job(settings, name)
        if job is not None and job.state == "RUNNING" and _all_tasks_running(settings, job.job_id):
            return job
        time.sleep(1)
    raise ServiceError(f"job {name} was submitted but is not RUNNING after {wait_running:.0f} s")


def _all_tasks_running(settings: Settings, job_id: str) -> bool:
    detail = _rest(settings, "GET", f"/jobs/{job_id}")
    vertices = detail.get("vertices", [])
    return bool(vertices) and all(v.get("status") == "RUNNING" for v in vertices)


def _require_active(settings: Settings, name: str) -> JobInfo:
    job = active_job(settings, name)
    if job is None:
        raise InvalidInputError(
            f"no active job named {name}; submit it with `telemetry job submit`"
        )
    return job


def cancel(settings: Settings, name: str = JOB_NAME, timeout: float = 60.0) -> JobInfo:
    job = _require_active(settings, name)
    _rest(settings, "PATCH", f"/jobs/{job.job_id}?mode=cancel")
    _wait_terminal(settings, job.job_id, timeout)
    return job


def stop_with_savepoint(settings: Settings, name: str = JOB_NAME, timeout: float = 180.0) -> str:
    """Stop the job with a savepoint (to the cluster's savepoint dir); return its path."""
    job = _require_active(settings, name)
    trigger = _rest(settings, "POST", f"/jobs/{job.job_id}/stop", {"drain": False})
    request_id = trigger["request-id"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _rest(settings, "GET", f"/jobs/{job.job_id}/savepoints/{request_id}")
        if status["status"]["id"] == "COMPLETED":
            operation = status.get("operation", {})
            if "failure-cause" in operation:
                cause = operation["failure-cause"].get("stack-trace", "").splitlines()[:1]
                raise ServiceError(f"savepoint of {name} failed: {cause}")
            _wait_terminal(settings, job.job_id, 60)
            return str(operation["location"])
        time.sleep(1)
    raise ServiceError(f"savepoint of {name} did not complete within {timeout:.0f} s")


def _wait_terminal(settings: Settings, job_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _rest(settings, "GET", f"/jobs/{job_id}")["state"]
        if state not in ACTIVE_STATES and state != "CANCELLING":
            return
        time.sleep(0.5)
    raise ServiceError(f"job {job_id} did not stop within {timeout:.0f} s")


def checkpoint_counts(settings: Settings, job_id: str) -> dict[str, int]:
    """Checkpoint counters of a job: completed, failed, restored (recoveries), ..."""
    stats = _rest(settings, "GET", f"/jobs/{job_id}/checkpoints")
    return {k: int(v) for k, v in stats.get("counts", {}).items()}


def checkpoint_count(settings: Settings, job_id: str) -> int:
    """Completed checkpoints of a job (what committed files wait for)."""
    return checkpoint_counts(settings, job_id).get("completed", 0)


def metric_sum(settings: Settings, job_id: str, metric_suffix: str) -> float:
    """Sum of a source metric (e.g. the decoder's counters) across its subtasks."""
    detail = _rest(settings, "GET", f"/jobs/{job_id}")
    total = 0.0
    for vertex in detail.get("vertices", []):
        names = _rest(settings, "GET", f"/jobs/{job_id}/vertices/{vertex['id']}/subtasks/metrics")
        wanted = [m["id"] for m in names if m["id"].endswith(metric_suffix)]
        if not wanted:
            continue
        values = _rest(
            settings,
            "GET",
            f"/jobs/{job_id}/vertices/{vertex['id']}/subtasks/metrics?get={','.join(wanted)}&agg=sum",
        )
        total += sum(float(v.get("sum", 0)) for v in values)
    return total
