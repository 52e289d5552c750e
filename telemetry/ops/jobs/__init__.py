"""The telemetry Flink job on a cluster: submit (resuming its last state), inspect, stop, cancel.

params     the job's parameters, rendered as the job script's arguments
rest       the JobManager's REST API: jobs, failures, counters
retained   the job's newest checkpoint or savepoint on S3, and manifests
lifecycle  submit, stop with a savepoint, cancel, resume after a crash
intent     which jobs the local stack should bring back
"""

from telemetry.core.contract import JOB_NAME, job_jar, job_script
from telemetry.core.job_params import JobParams
from telemetry.ops.jobs.lifecycle import (
    Submission,
    cancel,
    resume_remembered,
    stop_with_savepoint,
    submit,
)
from telemetry.ops.jobs.rest import (
    ACTIVE_STATES,
    JobInfo,
    active_job,
    checkpoint_count,
    checkpoint_counts,
    list_jobs,
    metric_sum,
    root_cause,
)
from telemetry.ops.jobs.retained import RetainedState, latest_retained

__all__ = [
    "ACTIVE_STATES",
    "JOB_NAME",
    "JobInfo",
    "JobParams",
    "RetainedState",
    "Submission",
    "active_job",
    "cancel",
    "checkpoint_count",
    "checkpoint_counts",
    "job_jar",
    "job_script",
    "latest_retained",
    "list_jobs",
    "metric_sum",
    "resume_remembered",
    "root_cause",
    "stop_with_savepoint",
    "submit",
]
