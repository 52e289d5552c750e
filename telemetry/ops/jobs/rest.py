"""The JobManager's REST API at FLINK_REST_URL: jobs, their state, failures, counters."""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from telemetry.core.config import Settings
from telemetry.core.contract import JOB_NAME
from telemetry.core.errors import ServiceError
from telemetry.core.flink_tls import rest_tls_context

__all__ = [
    "ACTIVE_STATES",
    "JobInfo",
    "active_job",
    "checkpoint_count",
    "checkpoint_counts",
    "job_state",
    "list_jobs",
    "metric_sum",
    "rest",
    "root_cause",
]

ACTIVE_STATES = {"CREATED", "INITIALIZING", "RUNNING", "RESTARTING", "RECONCILING", "FAILING"}


@dataclass(frozen=True)
class JobInfo:
    job_id: str
    name: str
    state: str
    start_time_ms: int
    duration_ms: int


def rest(settings: Settings, method: str, path: str, body: dict | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{settings.flink.rest_url}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"} if data else {},
    )
    context = rest_tls_context(settings)
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            payload = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise ServiceError(f"Flink REST {method} {path} failed ({exc.code}): {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, ssl.SSLError):
            raise ServiceError(
                f"Flink at {settings.flink.rest_url} refused the TLS handshake ({reason}); "
                "check FLINK_REST_CA_LOCATION and the client certificate "
                "(FLINK_REST_CERT_LOCATION, FLINK_REST_KEY_LOCATION)"
            ) from exc
        raise ServiceError(
            f"Flink at {settings.flink.rest_url} is unreachable ({exc}); start it with `make up`"
        ) from exc
    return json.loads(payload) if payload else None


def list_jobs(settings: Settings) -> list[JobInfo]:
    overview = rest(settings, "GET", "/jobs/overview")
    return [
        JobInfo(j["jid"], j["name"], j["state"], j.get("start-time", 0), j.get("duration", 0))
        for j in overview.get("jobs", [])
    ]


def active_job(settings: Settings, name: str = JOB_NAME) -> JobInfo | None:
    for job in list_jobs(settings):
        if job.name == name and job.state in ACTIVE_STATES:
            return job
    return None


def job_state(settings: Settings, job_id: str) -> str:
    return str(rest(settings, "GET", f"/jobs/{job_id}")["state"])


def all_tasks_running(settings: Settings, job_id: str) -> bool:
    return tasks_running(rest(settings, "GET", f"/jobs/{job_id}"))


def tasks_running(detail: dict[str, Any]) -> bool:
    """Whether every task of a job (its `GET /jobs/<id>` answer) runs."""
    vertices = detail.get("vertices", [])
    return bool(vertices) and all(v.get("status") == "RUNNING" for v in vertices)


_CAUSE = re.compile(r"^(?:Caused by: )?([\w.$]+(?:Exception|Error|Throwable))(?::\s*(.*))?$")


_PYTHON_ERROR = re.compile(r"^(error: .+|[A-Za-z_][\w.]*(?:Error|Exception|Exit)(?::.*)?)$")


def summarize_trace(stacktrace: str) -> str:
    """The innermost cause of a stack trace on one line: `SimpleName: message`.

    When a PyFlink job script failed, that is its own error (the last line of
    its Python traceback, or its `error: ...` message), not the Java wrapper's.
    """
    if "Python process exits with code" in stacktrace:
        lines = stacktrace.split("org.apache.flink.client.program.ProgramAbortException")[0]
        python = [ln.strip() for ln in lines.splitlines() if _PYTHON_ERROR.match(ln.strip())]
        if python:
            return python[-1][:300]
    causes = []
    for line in stacktrace.splitlines():
        match = _CAUSE.match(line.strip())
        if match:
            causes.append((match.group(1).rsplit(".", 1)[-1], (match.group(2) or "").strip()))
    if not causes:
        first = stacktrace.strip().splitlines()[:1]
        return first[0][:300] if first else "unknown cause"
    name, message = causes[-1]
    text = f"{name}: {message}" if message else name
    return text if len(text) <= 300 else text[:297] + "..."


def root_cause(settings: Settings, job_id: str) -> str | None:
    """The root cause of the job's latest failure (or restart), on one line; None if none."""
    history = rest(settings, "GET", f"/jobs/{job_id}/exceptions?maxExceptions=1")
    entries = (history.get("exceptionHistory") or {}).get("entries") or []
    trace = entries[0].get("stacktrace", "") if entries else history.get("root-exception")
    return summarize_trace(trace) if trace else None


def checkpoint_counts(settings: Settings, job_id: str) -> dict[str, int]:
    """Checkpoint counters of a job: completed, failed, restored (recoveries), ..."""
    stats = rest(settings, "GET", f"/jobs/{job_id}/checkpoints")
    return {k: int(v) for k, v in stats.get("counts", {}).items()}


def checkpoint_count(settings: Settings, job_id: str) -> int:
    """Completed checkpoints of a job (what committed files wait for)."""
    return checkpoint_counts(settings, job_id).get("completed", 0)


def metric_sum(settings: Settings, job_id: str, metric_suffix: str) -> float:
    """Sum of a source metric (e.g. the decoder's counters) across its subtasks."""
    detail = rest(settings, "GET", f"/jobs/{job_id}")
    total = 0.0
    for vertex in detail.get("vertices", []):
        names = rest(settings, "GET", f"/jobs/{job_id}/vertices/{vertex['id']}/subtasks/metrics")
        wanted = [m["id"] for m in names if m["id"].endswith(metric_suffix)]
        if not wanted:
            continue
        values = rest(
            settings,
            "GET",
            f"/jobs/{job_id}/vertices/{vertex['id']}/subtasks/metrics?get={','.join(wanted)}&agg=sum",
        )
        total += sum(float(v.get("sum", 0)) for v in values)
    return total
