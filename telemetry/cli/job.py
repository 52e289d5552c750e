"""`telemetry job submit|status|cancel|stop`: the Flink job on the cluster."""

from __future__ import annotations

import argparse
import sys
import time

from telemetry.cli.output import FORMATS, emit
from telemetry.core.config import Settings, load_settings
from telemetry.ops import jobs


def register(subparsers: argparse._SubParsersAction) -> None:
    job = subparsers.add_parser(
        "job",
        help="submit, inspect, stop or cancel the Flink job",
        description="Manage the telemetry Flink job on the cluster at FLINK_REST_URL.",
    )
    commands = job.add_subparsers(dest="job_command", metavar="ACTION", required=True)

    p = commands.add_parser(
        "submit",
        help="submit the job, resuming its newest checkpoint or savepoint; waits until it runs",
        description=(
            "Build flink/telemetry_job.py and submit it to FLINK_REST_URL (through the local "
            "stack's warm job client when its gateway would be this one's: the same code, secrets "
            "and Java), after creating its topics. If an earlier run of the same job name left a "
            "checkpoint or savepoint, the job resumes from the newest one (Flink operator's `last-"
            "state`); --fresh starts without it. If the same job already runs with the same "
            "settings, that is success. Window, lateness, idle timeout and checkpoint interval come"
            " from the TELEMETRY_* variables."
        ),
    )
    p.add_argument("--from-savepoint", metavar="PATH", help="resume from this savepoint instead")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="start without the retained state (Kafka positions: the group's committed offsets)",
    )
    p.add_argument("--name", default=jobs.JOB_NAME, help=f"job name (default {jobs.JOB_NAME})")
    p.set_defaults(func=_submit)

    p = commands.add_parser(
        "status",
        help="list jobs; explain a failing or vanished job",
        description="List the cluster's jobs. If the job named --name is failing, print the "
        "root cause; if it is not running but left a checkpoint, print it and the command that "
        "resumes it. Exit 1 in both cases.",
    )
    p.add_argument("--name", default=jobs.JOB_NAME)
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=_status)

    p = commands.add_parser(
        "cancel", help="cancel the running job (no savepoint; its checkpoints are kept)"
    )
    p.add_argument("--name", default=jobs.JOB_NAME)
    p.set_defaults(func=_cancel)

    p = commands.add_parser(
        "stop",
        help="stop the job with a savepoint and print its path",
        description="Stop with a savepoint, e.g. for an upgrade; `telemetry job submit` resumes "
        "from it (it is the newest state).",
    )
    p.add_argument("--name", default=jobs.JOB_NAME)
    p.set_defaults(func=_stop)


def _submit(args: argparse.Namespace) -> int:
    if args.fresh and args.from_savepoint:
        print("error: --fresh and --from-savepoint exclude each other", file=sys.stderr)
        return 2
    settings = load_settings()
    started = time.monotonic()
    params = jobs.JobParams.from_settings(settings, name=args.name)
    result = jobs.submit(settings, params, savepoint=args.from_savepoint, fresh=args.fresh)
    job = result.job
    if result.already_running:
        print(f"job {job.name} is already {job.state.lower()} ({job.job_id}) with these settings")
        return 0
    if result.created_topics:
        print(f"created topics {', '.join(result.created_topics)}")
    if result.resumed_from is not None:
        print(f"resumed from {result.resumed_from.describe()}")
    elif result.savepoint:
        print(f"resumed from savepoint {result.savepoint}")
    else:
        print("started without retained state" + (" (--fresh)" if args.fresh else ""))
    print(f"job {job.name} is running as {job.job_id} ({time.monotonic() - started:.0f} s)")
    print(f"Flink UI: {settings.flink.rest_url}/#/job/running/{job.job_id}/overview")
    return 0


def _status(args: argparse.Namespace) -> int:
    settings = load_settings()
    listed = jobs.list_jobs(settings)
    rows = [
        {"job_id": j.job_id, "name": j.name, "state": j.state, "duration_s": j.duration_ms // 1000}
        for j in listed
    ]
    problem = _explain(settings, args.name, listed)
    if args.format == "json":
        emit([{"jobs": rows, "problem": problem}], [], "json")
    else:
        if rows:
            emit(rows, ["job_id", "name", "state", "duration_s"], args.format)
        if problem:
            print(problem)
        elif not rows:
            print(f"no jobs; submit {args.name} with `telemetry job submit`")
    return 1 if problem else 0


def _explain(settings: Settings, name: str, listed: list[jobs.JobInfo]) -> str | None:
    """Why the job `name` is not healthy, with what to do; None if it runs (or never ran)."""
    mine = [j for j in listed if j.name == name]
    active = next((j for j in mine if j.state in jobs.ACTIVE_STATES), None)
    if active is not None:
        if active.state in ("RESTARTING", "FAILING"):
            cause = jobs.root_cause(settings, active.job_id) or "no cause recorded"
            return f"job {name} is {active.state.lower()}: {cause}"
        return None
    retained = jobs.latest_retained(settings, name)
    last = max(mine, key=lambda j: j.start_time_ms, default=None)
    ended = f"its last run ended {last.state.lower()}" if last else "the cluster does not know it"
    if last is not None and last.state == "FAILED":
        ended += f": {jobs.root_cause(settings, last.job_id) or 'no cause recorded'}"
    if retained is None:
        return None if last is None else f"job {name} is not running ({ended}); submit it again"
    return (
        f"job {name} is not running ({ended}); its newest state is {retained.describe()}; "
        "resume it with `telemetry job submit` (or start over with `--fresh`)"
    )


def _cancel(args: argparse.Namespace) -> int:
    job = jobs.cancel(load_settings(), args.name)
    print(
        f"cancelled {job.name} ({job.job_id}); its checkpoints are kept, so "
        "`telemetry job submit` resumes it (`--fresh` starts over)"
    )
    return 0


def _stop(args: argparse.Namespace) -> int:
    path = jobs.stop_with_savepoint(load_settings(), args.name)
    print(path)
    return 0
