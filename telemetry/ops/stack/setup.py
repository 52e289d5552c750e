"""`telemetry setup`: fetch every server into the versioned download cache.

Kafka, the Flink jars and Apicurio come from Maven Central through the
manifest in infra/maven; MinIO is built from its Go module; uPlot, the live
page's chart, from npm (`--browser` adds the browser test's Chromium from
Debian's packages). Only what the pipeline runs: the tools that check the
deployment files (docker-compose, the manifest validator) are built by
`make check-deploy` and their tests, on first use.
A marker file makes a complete cache a no-op, so fresh clones (CI) reuse it.
Each long step shows a live line on a terminal (telemetry.ops.stack.steps).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Unpack

from telemetry.core.config import Settings
from telemetry.core.contract import job_jar, job_sources
from telemetry.core.progress import Say
from telemetry.ops.host import versions
from telemetry.ops.host.java import find_java
from telemetry.ops.host.layout import Layout, infra_dir
from telemetry.ops.stack.debian import unpack_debian_packages
from telemetry.ops.stack.steps import (
    GO_LOG,
    MAVEN_LOG,
    BackgroundStep,
    LogTally,
    PopenOptions,
    run_step,
)
from telemetry.ops.stack.web import ensure_chromium, fetch_uplot


def setup(
    settings: Settings, say: Say = print, force: bool = False, browser: bool = False
) -> Layout:
    """Fetch and build what the stack runs; `browser`: also the browser test's Chromium."""
    layout = Layout.of(settings)
    if layout.ready_marker.exists() and not force:
        say(f"servers already fetched in {layout.cache}")
        _build_job_jar(settings, layout, say)
        _cluster_tools(settings, layout, say)
        _web(layout, say, browser)
        return layout
    find_java(versions.JAVA_MIN, settings.stack.java_home, "Kafka and Flink")
    find_java(versions.APICURIO_JAVA_MIN, settings.stack.apicurio_java_home, "Apicurio Registry")
    layout.cache.mkdir(parents=True, exist_ok=True)
    # MinIO's build is the longest step and mostly compiles; the Maven downloads and the
    # job's jar mostly wait on the network and the disk, so they run beside it.
    minio_build = BackgroundStep(
        lambda say_, cancel: _build_minio(layout, say_, cancel),
        say,
        label=MINIO_LABEL,
        log=layout.cache / GO_LOG_NAME,
        tally=LogTally(GO_LOG),
    )
    with minio_build as minio:
        _fetch_maven(layout, say)
        minio.flush()
        _build_job_jar(settings, layout, say)
        minio.flush()
    _cluster_tools(settings, layout, say)
    layout.ready_marker.write_text(versions.stack_fingerprint() + "\n")
    _web(layout, say, browser)
    say(f"servers ready in {layout.cache}")
    return layout


MINIO_LABEL = "MinIO (go install)"
GO_LOG_NAME = "go.log"


def _web(layout: Layout, say: Say, browser: bool) -> None:
    """The live page's chart (uPlot, npm) and, asked for, the browser test's Chromium."""
    fetch_uplot(layout, say)
    if browser:
        ensure_chromium(layout, say)


def _run(
    step: str,
    command: list[str],
    log_name: str,
    layout: Layout,
    say: Say,
    *,
    label: str | None = None,
    tally: LogTally | None = None,
    cancel: threading.Event | None = None,
    **popen: Unpack[PopenOptions],
) -> None:
    """One step of `make setup`, logged to `log_name` in the cache (see `run_step`);
    with `cancel`, a background one (no live line)."""
    run_step(
        step,
        command,
        layout.cache / log_name,
        say,
        fix="check access to the package registry and rerun `make setup`",
        label=label,
        tally=tally,
        live=cancel is None,
        cancel=cancel,
        **popen,
    )


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


def _build_minio(layout: Layout, say: Say, cancel: threading.Event | None = None) -> None:
    if layout.minio_bin.is_file():
        say(f"MinIO {versions.MINIO} already built in {layout.minio_cache}")
        return
    layout.minio_cache.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOBIN=str(layout.minio_bin.parent), CGO_ENABLED="0")
    _run(
        f"build MinIO {versions.MINIO} from its Go module, in the background "
        "(several minutes the first time)",
        ["go", "install", "-v", f"github.com/minio/minio@{versions.MINIO}"],
        GO_LOG_NAME,
        layout,
        say,
        label=MINIO_LABEL,
        tally=LogTally(GO_LOG),
        cancel=cancel,
        env=env,
        cwd=str(layout.cache),
    )


def _cluster_tools(settings: Settings, layout: Layout, say: Say) -> None:
    """The cluster profile's extra tools, fetched the first time it is used."""
    if settings.profile != "cluster":
        return
    if not layout.nginx_bin.is_file():
        _debian_packages(
            "nginx (the registry's TLS + basic-auth proxy)",
            ("nginx",),
            layout.nginx_bin.parents[2],
            layout,
            say,
        )
    ready = layout.postgres_dir / ".complete"
    if not ready.is_file():
        _debian_packages(
            f"PostgreSQL {versions.POSTGRES_MAJOR} (the Iceberg catalog's database)",
            POSTGRES_PACKAGES,
            layout.postgres_dir,
            layout,
            say,
        )
        ready.write_text("\n".join(POSTGRES_PACKAGES) + "\n")
    if not layout.mc_bin.is_file():
        _run(
            f"build MinIO's client mc {versions.MC} from its Go module",
            ["go", "install", f"github.com/minio/mc@{versions.MC}"],
            "mc.log",
            layout,
            say,
            label="mc (go install)",
            tally=LogTally(GO_LOG),
            cwd=str(layout.cache),
            env=dict(os.environ, GOBIN=str(layout.mc_bin.parent), CGO_ENABLED="0"),
        )


# postgresql-15 and the libraries its server and initdb link that a minimal Debian 12
# lacks (ldd, less the base system's); the server finds them through LD_LIBRARY_PATH.
POSTGRES_PACKAGES = (
    f"postgresql-{versions.POSTGRES_MAJOR}",
    "libpq5",
    "libicu72",
    "libxml2",
    "libssl3",
    "libgssapi-krb5-2",
    "libkrb5-3",
    "libk5crypto3",
    "libkrb5support0",
    "libkeyutils1",
    "libldap-2.5-0",
    "libsasl2-2",
    "libsasl2-modules-db",
    "libdb5.3",
)


def _debian_packages(
    what: str, packages: Sequence[str], folder: Path, layout: Layout, say: Say
) -> None:
    """Debian's `packages`, unpacked into `folder` (telemetry.ops.stack.debian)."""
    unpack_debian_packages(what, packages, folder, layout.cache / f"{folder.name}.log", say)


def _build_job_jar(settings: Settings, layout: Layout, say: Say) -> None:
    """Build flink/jvm (the job's decoder and watermarks) into the cache when its sources
    changed: job_jar's folder is named by their hash, so a change means a jar not yet built."""
    jar = job_jar(settings)
    pom = job_sources() / "pom.xml"
    if jar.exists() or not pom.exists():
        return
    _run(
        "build the job's JVM functions (flink/jvm)",
        ["mvn", "-B", "-f", str(pom), f"-Djar.dir={jar.parent}", "package"],
        "job-jar.log",
        layout,
        say,
        label="flink/jvm (mvn package)",
        tally=LogTally(MAVEN_LOG),
    )
