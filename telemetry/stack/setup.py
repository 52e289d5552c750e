"""`telemetry setup`: fetch every server into the versioned download cache.

Kafka, the Flink jars and Apicurio come from Maven Central through the
manifest in infra/maven; MinIO is built from its Go module, and so are the
tools that check the deployment files (docker-compose, the manifest validator). A marker file
makes a complete cache a no-op, so fresh clones (CI) reuse it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping

from telemetry import versions
from telemetry.config import Settings
from telemetry.errors import ServiceError
from telemetry.progress import Activity
from telemetry.stack.follow import POLL_S, LogReader
from telemetry.stack.java import find_java
from telemetry.stack.layout import Layout, infra_dir
from telemetry.stack.manifest_tools import build_manifest_tools
from telemetry.stack.process import tail

Say = Callable[[str], None]


def setup(settings: Settings, say: Say = print, force: bool = False) -> Layout:
    layout = Layout.of(settings)
    if layout.ready_marker.exists() and not force:
        say(f"servers already fetched in {layout.cache}")
        _build_job_jar(layout, say)
        build_manifest_tools(settings, say)
        return layout
    find_java(versions.JAVA_MIN, settings.java_home, "Kafka and Flink")
    find_java(versions.APICURIO_JAVA_MIN, settings.apicurio_java_home, "Apicurio Registry")
    layout.cache.mkdir(parents=True, exist_ok=True)
    _fetch_maven(layout, say)
    _build_minio(layout, say)
    _build_job_jar(layout, say)
    build_manifest_tools(settings, say)
    layout.ready_marker.write_text(versions.stack_fingerprint() + "\n")
    say(f"servers ready in {layout.cache}")
    return layout


class LogTally:
    """What a tool's log says so far, for the live line: counts of kinds of lines, the last one.

    `kinds` maps a noun (`artifacts downloaded`) to the pattern of the lines it
    counts; lines are matched without colour codes and log levels.
    """

    def __init__(self, kinds: Mapping[str, str] | None = None) -> None:
        self.kinds = {noun: re.compile(pattern) for noun, pattern in (kinds or {}).items()}
        self.counts = dict.fromkeys(self.kinds, 0)
        self.last = ""

    def feed(self, lines: Iterable[str]) -> None:
        for raw in lines:
            line = _plain(raw)
            for noun, pattern in self.kinds.items():
                if pattern.search(line):
                    self.counts[noun] += 1
            if any(c.isalnum() for c in line):  # not a blank or a `-----` rule
                self.last = line

    def detail(self) -> str:
        """The counts so far (those above zero) and the last line, URLs cut to file names."""
        counts = [f"{n:,} {noun}" for noun, n in self.counts.items() if n]
        last = re.sub(r"https?://\S+/(\S+)", r"\1", self.last)
        return " · ".join([*counts, last] if last else counts)


def _plain(line: str) -> str:
    """A log line without ANSI colour codes and Maven's `[INFO] ` level."""
    line = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
    return re.sub(r"^\[(INFO|WARNING|WARN)\] ?", "", line)


# Maven in batch mode logs one `Downloaded from central: URL (size)` line per file.
MAVEN_LOG = {"artifacts downloaded": r"^Downloaded from \S+: "}
# `go install -v` logs each module it fetches, then each package as it compiles.
GO_LOG = {"modules downloaded": r"^go: downloading ", "packages built": r"^[^\s:]+$"}


def _run(
    step: str,
    command: list[str],
    log_name: str,
    layout: Layout,
    say: Say,
    *,
    label: str | None = None,
    tally: LogTally | None = None,
    **kw: object,
) -> None:
    """Run one long step with its output to a log in the cache.

    While it runs, a live line on stderr (a terminal only) shows `label`, the
    elapsed time and what the log says so far; `say` gets one line before and
    one after, which is all a CI log shows.
    """
    tool = shutil.which(command[0])
    if tool is None:
        raise ServiceError(f"{command[0]} is not installed; it is needed to {step}")
    log = layout.cache / log_name
    say(f"{step} ... (log: {log})")
    started = time.monotonic()
    tally = tally or LogTally()
    reader = LogReader(log)
    with open(log, "wb") as out, Activity(label or step) as activity:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **kw)  # type: ignore[call-overload]
        try:
            while True:
                try:
                    returncode = proc.wait(timeout=POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    if activity.enabled:
                        tally.feed(reader.read_lines())
                        activity.update(tally.detail())
        except BaseException:  # Ctrl-C: the tool got it too; do not leave it behind
            proc.kill()
            proc.wait()
            raise
    if returncode != 0:
        raise ServiceError(
            f"failed to {step} (exit {returncode}); check access to the package "
            f"registry and rerun `make setup`. Last lines of {log}:\n{tail(log, 15)}"
        )
    say(f"  done in {time.monotonic() - started:.0f} s")


def _fetch_maven(layout: Layout, say: Say) -> None:
    pom = infra_dir() / "maven" / "pom.xml"
    _run(
        "download Kafka (and its perf tools), Flink connectors and Apicurio Registry from "
        "Maven Central",
        ["mvn", "-B", "-f", str(pom), f"-Dcache.dir={layout.cache}", "package"],
        "maven.log",
        layout,
        say,
        label="Maven Central",
        tally=LogTally(MAVEN_LOG),
    )


def _build_minio(layout: Layout, say: Say) -> None:
    if layout.minio_bin.is_file():
        say(f"MinIO {versions.MINIO} already built in {layout.minio_cache}")
        return
    layout.minio_cache.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOBIN=str(layout.minio_bin.parent), CGO_ENABLED="0")
    _run(
        f"build MinIO {versions.MINIO} from its Go module (several minutes the first time)",
        ["go", "install", "-v", f"github.com/minio/minio@{versions.MINIO}"],
        "go.log",
        layout,
        say,
        label="MinIO (go install)",
        tally=LogTally(GO_LOG),
        env=env,
        cwd=str(layout.cache),
    )


def _build_job_jar(layout: Layout, say: Say) -> None:
    """Build flink/jvm (the job's decoder and watermarks) when its sources changed."""
    from telemetry.jobs import job_jar

    jar = job_jar()
    module = jar.parents[1]
    if not (module / "pom.xml").exists():
        return
    sources = [module / "pom.xml", *(module / "src").rglob("*")]
    if jar.exists() and all(p.stat().st_mtime <= jar.stat().st_mtime for p in sources):
        return
    _run(
        "build the job's JVM functions (flink/jvm)",
        ["mvn", "-B", "-f", str(module / "pom.xml"), "package"],
        "job-jar.log",
        layout,
        say,
        label="flink/jvm (mvn package)",
        tally=LogTally(MAVEN_LOG),
    )
