"""`telemetry job submit|status|cancel|stop`: the Flink job on the session cluster."""

from __future__ import annotations

import argparse
import time

from telemetry import jobs
from telemetry.cli.output import FORMATS, emit
from telemetry.config import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    job = subparsers.add_parser(
        "job",
        help="submit, inspect, stop or cancel the Flink job",
        description="Manage the telemetry Flink job on the cluster at FLINK_REST_URL.",
    )
    commands = job.add_subparsers(dest="job_command", metavar="ACTION", required=True)

    p = commands.add_parser(
        "submit",
        help="submit the job (refuses a second copy); waits until it runs",
        description="Submit flink/telemetry_job.py with `flink run -d -py`. Window, lateness, "
        "idle timeout and checkpoint interval come from the TELEMETRY_* variables.",
    )
    p.add_argument("--from-savepoint", metavar="PATH", help="resume from this savepoint")
    p.add_argument("--name", default=jobs.JOB_NAME, help=f"job name (default {jobs.JOB_NAME})")
    p.set_defaults(func=_submit)

    p = commands.add_parser("status", help="list jobs on the cluster")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=_status)

    p = commands.add_parser("cancel", help="cancel the running job (no savepoint)")
    p.add_argument("--name", default=jobs.JOB_NAME)
    p.set_defaults(func=_cancel)

    p = commands.add_parser(
        "stop",
        help="stop the job with a savepoint and print its path",
        description="Stop with a savepoint for an upgrade: resubmit with "
        "`telemetry job submit --from-savepoint PATH`.",
    )
    p.add_argument("--name", default=jobs.JOB_NAME)
    p.set_defaults(func=_stop)


def _submit(args: argparse.Namespace) -> int:
    settings = load_settings()
    started = time.monotonic()
    job = jobs.submit(settings, name=args.name, savepoint=args.from_savepoint)
    print(f"job {job.name} is running as {job.job_id} ({time.monotonic() - started:.0f} s)")
    print(f"Flink UI: {settings.flink_rest_url}/#/job/running/{job.job_id}/overview")
    return 0


def _status(args: argparse.Namespace) -> int:
    rows = [
        {"job_id": j.job_id, "name": j.name, "state": j.state, "duration_s": j.duration_ms // 1000}
        for j in jobs.list_jobs(load_settings())
    ]
    emit(rows, ["job_id", "name", "state", "duration_s"], args.format)
    return 0


def _cancel(args: argparse.Namespace) -> int:
    job = jobs.cancel(load_settings(), args.name)
    print(f"cancelled {job.name} ({job.job_id})")
    return 0


def _stop(args: argparse.Namespace) -> int:
    path = jobs.stop_with_savepoint(load_settings(), args.name)
    print(path)
    return 0
