"""Pipeline health for the page's status line, from counters, never from the data.

- the Flink job's state, from the JobManager's REST API (telemetry.ops.jobs.rest,
  with the FLINK_REST_* TLS and client certificate of the profile);
- dead letters: the job's `telemetryRecordsFailed` counter (its decoder's,
  summed over subtasks; since the job's current run, as Flink's metrics are);
- late events: `total-records` of the current snapshot's summary of the lake's
  `late_events` table (one catalog lookup and one metadata file; no data file
  is read);
- freshness, now minus the newest window end seen, is the board's
  (telemetry.ops.live.board); the server adds it on every push.

A part that cannot be asked says why in its field and leaves its number None:
the page shows what it knows.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from telemetry.core.config import Settings
from telemetry.core.contract import FAILED_METRIC, JOB_NAME
from telemetry.core.errors import TelemetryError
from telemetry.core.lake.catalog import load_table
from telemetry.core.lake.tables import LATE_EVENTS
from telemetry.ops.jobs.rest import ACTIVE_STATES, JobInfo, list_jobs, metric_sum

__all__ = ["DEAD_LETTER_METRIC", "HealthProbe", "PipelineHealth", "pick_job"]

DEAD_LETTER_METRIC = FAILED_METRIC  # every dead letter, whatever its reason


@dataclass(frozen=True)
class PipelineHealth:
    job_name: str
    job_state: str  # RUNNING, RESTARTING, FAILED, ..., NOT SUBMITTED, UNREACHABLE
    job_detail: str
    dead_letters: int | None
    late_events: int | None
    late_detail: str
    probed_ms: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def pick_job(jobs: list[JobInfo], name: str) -> JobInfo | None:
    """The job of that name that runs, else the one of that name started last."""
    named = [job for job in jobs if job.name == name]
    active = [job for job in named if job.state in ACTIVE_STATES]
    candidates = active or named
    return max(candidates, key=lambda job: job.start_time_ms) if candidates else None


class HealthProbe:
    """Asks Flink and the lake; `probe()` blocks for a few REST calls."""

    def __init__(self, settings: Settings, job_name: str = JOB_NAME) -> None:
        self.settings = settings
        self.job_name = job_name

    def probe(self) -> PipelineHealth:
        state, detail, dead = self._job()
        late, late_detail = self._late_events()
        return PipelineHealth(
            job_name=self.job_name,
            job_state=state,
            job_detail=detail,
            dead_letters=dead,
            late_events=late,
            late_detail=late_detail,
            probed_ms=int(time.time() * 1000),
        )

    def _job(self) -> tuple[str, str, int | None]:
        try:
            job = pick_job(list_jobs(self.settings), self.job_name)
            if job is None:
                return "NOT SUBMITTED", f"no job named {self.job_name} on the cluster", None
            dead = None
            if job.state == "RUNNING":
                dead = int(metric_sum(self.settings, job.job_id, DEAD_LETTER_METRIC))
            return job.state, job.job_id, dead
        except TelemetryError as exc:
            return "UNREACHABLE", str(exc), None

    def _late_events(self) -> tuple[int | None, str]:
        try:
            table = load_table(self.settings, LATE_EVENTS)
        except TelemetryError as exc:
            return None, str(exc)
        snapshot = table.current_snapshot()
        if snapshot is None or snapshot.summary is None:
            return 0, "no commit yet"
        total = snapshot.summary.get("total-records")
        return (int(total), "") if total is not None else (None, "no total-records in summary")
