"""The job's throughput on a backlog, measured so that its fixed costs cancel out.

The job is timed from `jobs.submit` until every event of a preloaded backlog
is counted in committed Parquet (windows' event_count + late rows), for two
backlog sizes N1 < N2 on topics with the same content:

    T(N) = running + N / rate + tail

`running` (submit until every task runs) is measured directly, so
    rate = (N2 - N1) / ((T2 - running2) - (T1 - running1))

The tail (last record read -> its window committed) is measured directly too:
from the moment the source has read every record (its numRecordsIn, polled)
to the moment the last event is in committed Parquet.

The fixed cost (running + tail) varies by design from run to run: the last
windows commit with the next checkpoint, which is 0 to one checkpoint interval
away (Flink starts a job's checkpoints at a random offset). So it is reported
as the median, with the range, of every timed run: the two backlogs and
FIXED_RUNS more jobs on short backlogs (FIXED_BACKLOG events each), whose last
events fall at evenly spread points of their window (see _short_start).

The difference assumes every run pays the same fixed cost. It does not quite:
a new job's first seconds run slower (the JVM compiles the job's generated
code), and once the difference came out at 2.2 M events/s, more than two
cores can do at the CPU each event costs. So the rate the bench reports is
the conservative one, the long run's own: its events over the time from its
source tasks' start to the last record read, slow start included. The
difference is reported beside it as the marginal rate.

The TaskManagers' CPU time over the long run, per million events (start-up
included), is less noisy than the rate on a shared machine: time spent
waiting for a core does not count.

Used by `make bench` (bench/compare.py) and bench/job_throughput.py.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import time
import uuid
from dataclasses import dataclass

import psutil
from confluent_kafka.admin import AdminClient

from producer.runner import ProduceRequest
from producer.runner import run as produce
from telemetry.core.config import Settings
from telemetry.core.errors import StorageError
from telemetry.core.kafka_config import librdkafka_config
from telemetry.core.lake.scan import read_windows
from telemetry.core.progress import Say
from telemetry.ops import jobs
from telemetry.ops.host.layout import Layout
from telemetry.ops.host.process import read_pid
from telemetry.ops.jobs.rest import ACTIVE_STATES, list_jobs, rest


@dataclass
class Timing:
    events: int
    running_s: float  # submit -> every task running
    total_s: float  # submit -> every event in committed Parquet
    read_s: float  # submit -> the source has read every record
    source_s: float  # submit -> the source tasks run (the first of them)
    peak_rss_mib: float  # the TaskManagers' resident memory, at most
    cpu_s: float  # the TaskManagers' CPU time (user + system) over the run

    @property
    def tail_s(self) -> float:
        """Last record read -> every event in committed Parquet."""
        return self.total_s - self.read_s

    @property
    def fixed_s(self) -> float:
        """Submit -> running, plus last record -> committed."""
        return self.running_s + self.tail_s


FIXED_RUNS = 5
FIXED_BACKLOG = 200_000


@dataclass
class JobRate:
    rate: float  # events/s through decode, windows and Parquet: the long run's own
    marginal_rate: float  # the same, by the difference of the two backlogs
    small: Timing
    large: Timing
    short: list[Timing]  # FIXED_RUNS jobs on FIXED_BACKLOG events, for the fixed cost

    @property
    def timed(self) -> list[Timing]:
        return [self.small, self.large, *self.short]

    @property
    def running_s(self) -> float:
        """Submit -> every task running, median of every timed run."""
        return statistics.median(t.running_s for t in self.timed)

    @property
    def tail_s(self) -> float:
        """Last record read -> its window committed, median of every timed run."""
        return statistics.median(t.tail_s for t in self.timed)

    @property
    def fixed_s(self) -> float:
        """Submit -> running, plus last record -> committed: median of every timed run."""
        return statistics.median(t.fixed_s for t in self.timed)

    @property
    def fixed_range(self) -> tuple[float, float]:
        fixed = [t.fixed_s for t in self.timed]
        return min(fixed), max(fixed)

    @property
    def cpu_s_per_million(self) -> float:
        """TaskManager CPU seconds per million events of the long run, start-up included."""
        return self.large.cpu_s / self.large.events * 1e6


def preload(
    settings: Settings, topic: str, events: int, cars: int = 20, start_time: float | None = None
) -> None:
    request = ProduceRequest(
        topic=topic,
        cars=cars,
        rate=0,
        count=events,
        seed=42,
        progress=False,
        schema_version=2,
        start_time=start_time,
    )
    report = produce(settings, request)
    if report.acknowledged != events:
        raise SystemExit(f"preloading {topic}: {report.acknowledged} of {events} acknowledged")


def committed_events(settings: Settings, namespace: str) -> int:
    """Events counted in the namespace's committed windows plus its late events."""
    total = 0
    for name, column in (("windows", "event_count"), ("late_events", "car_id")):
        try:
            table = read_windows(settings, table=name, namespace=namespace, columns=[column])
        except StorageError:
            continue
        total += int(table.column(column).to_numpy().sum()) if name == "windows" else len(table)
    return total


def _taskmanagers(settings: Settings) -> list[psutil.Process]:
    found = []
    for pid_file in Layout.of(settings).run.glob("taskmanager*.pid"):
        pid = read_pid(pid_file)
        if pid is not None and psutil.pid_exists(pid):
            found.append(psutil.Process(pid))
    return found


def _taskmanager_rss(settings: Settings) -> float:
    return sum(p.memory_info().rss for p in _taskmanagers(settings)) / 2**20


def _taskmanager_cpu(settings: Settings) -> float:
    return sum(t.user + t.system for t in (p.cpu_times() for p in _taskmanagers(settings)))


def time_job(settings: Settings, topic: str, events: int, timeout: float = 900) -> Timing:
    marker = uuid.uuid4().hex[:8]
    namespace = f"bench_{marker}"
    params = jobs.JobParams.from_settings(
        settings,
        name=f"bench-job-{marker}",
        topic=topic,
        dlq_topic=f"{topic}.dlq",
        namespace=namespace,
    )
    cpu_before = _taskmanager_cpu(settings)
    started, started_epoch = time.monotonic(), time.time()
    job_id = jobs.submit(settings, params, fresh=True, remember=False).job.job_id
    running = time.monotonic() - started
    source = _source_vertex(settings, job_id)
    source_started = _running_since(settings, job_id, source) - started_epoch
    peak, read = 0.0, None
    try:
        while True:
            peak = max(peak, _taskmanager_rss(settings))
            if read is None and _records_read(settings, job_id, source) >= events:
                read = time.monotonic() - started
            if read is not None and committed_events(settings, namespace) >= events:
                break
            if time.monotonic() - started > timeout:
                raise SystemExit(f"{topic}: not every event committed within {timeout:.0f} s")
            time.sleep(0.25)
        total = time.monotonic() - started
        cpu = _taskmanager_cpu(settings) - cpu_before
        return Timing(events, running, total, read, source_started, peak, cpu)
    finally:
        jobs.cancel(settings, params.name)


def _source_vertex(settings: Settings, job_id: str) -> str:
    vertices = rest(settings, "GET", f"/jobs/{job_id}")["vertices"]
    return next(v["id"] for v in vertices if v["name"].startswith("Source:"))


def _running_since(settings: Settings, job_id: str, vertex: str) -> float:
    """When the first of the vertex's subtasks began to run (epoch seconds)."""
    times = rest(settings, "GET", f"/jobs/{job_id}/vertices/{vertex}/subtasktimes")
    return min(s["timestamps"]["RUNNING"] for s in times["subtasks"]) / 1000


def _records_read(settings: Settings, job_id: str, vertex: str) -> float:
    path = f"/jobs/{job_id}/vertices/{vertex}/subtasks/metrics?get=numRecordsIn&agg=sum"
    metrics = rest(settings, "GET", path)
    return float(metrics[0]["sum"]) if metrics else 0.0


def indented(line: str) -> None:
    """A bench's `Say`: its steps indented under the heading, flushed for `| tee`."""
    print(f"  {line}", flush=True)


def warn_of_running_jobs(settings: Settings, say: Say = print) -> list[str]:
    """Say which jobs already run on the cluster (they share its CPU and memory with what is
    measured: an idle pipeline job beside it has halved the job's rate); returns their names."""
    running = sorted(job.name for job in list_jobs(settings) if job.state in ACTIVE_STATES)
    if running:
        say(
            f"warning: {', '.join(running)} already running on the cluster and sharing "
            "its CPU; for a clean measurement cancel first (`telemetry job cancel`)"
        )
    return running


def job_rate(settings: Settings, small: int, large: int, say: Say = print) -> JobRate:
    """Preload both backlogs, warm up, time a fresh job on each, derive rate and fixed costs."""
    warn_of_running_jobs(settings, say)
    marker = uuid.uuid4().hex[:6]
    # (topic, events, event time of the first event: None for now)
    runs = [(f"bench_job_{marker}_{n}", n, None) for n in (small, large)]
    runs += [
        (f"bench_job_{marker}_short{k}", FIXED_BACKLOG, _short_start(settings, k))
        for k in range(FIXED_RUNS)
    ]
    try:
        for topic, events, start_time in runs:
            say(f"preloading {events:,} events into {topic}")
            preload(settings, topic, events, start_time=start_time)
        # A freshly started TaskManager compiles Flink's runtime as it goes: its
        # first jobs ran 2-5x slower per event. One untimed run on the long
        # backlog first, so that the timed runs see a warm JVM.
        say(f"warming the TaskManager up on {runs[1][0]}")
        time_job(settings, runs[1][0], large)
        timings: list[Timing] = []
        for topic, events, _ in runs:
            t = time_job(settings, topic, events)
            timings.append(t)
            say(
                f"job on {events:,}: running after {t.running_s:.1f} s, last record read at "
                f"{t.read_s:.1f} s, all committed at {t.total_s:.1f} s (fixed {t.fixed_s:.1f} s)"
            )
        a, b, short = timings[0], timings[1], timings[2:]
        marginal = (large - small) / ((b.total_s - b.running_s) - (a.total_s - a.running_s))
        rate = large / (b.read_s - b.source_s)
        return JobRate(rate, marginal, a, b, short)
    finally:
        quiet = logging.getLogger("bench.admin")
        quiet.setLevel(logging.ERROR)
        admin = AdminClient(librdkafka_config(settings, logger=quiet))
        doomed = [t for topic, _, _ in runs for t in (topic, f"{topic}.dlq")]
        for future in admin.delete_topics(doomed, operation_timeout=30).values():
            with contextlib.suppress(Exception):  # best effort: a leftover topic is harmless
                future.result(30)


def _short_start(settings: Settings, k: int) -> float:
    """The event time of the first event of the k-th short backlog.

    The last window closes out-of-orderness plus the rest of its window after the
    last event, so the tail depends on where that event falls in its window. The
    short backlogs start 1/FIXED_RUNS of a window apart, so their last events
    sample the whole window instead of one point of it.
    """
    window = settings.job.window_seconds
    return (time.time() // window) * window + k * window / FIXED_RUNS
