"""Where things live: the shared download cache and the per-stack data directory."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from telemetry.core.bundled import bundled
from telemetry.core.config import Settings
from telemetry.ops.host import versions


def infra_dir() -> Path:
    """infra/: the servers' manifests and configurations, as the package ships them."""
    return bundled("infra")


def _manifest_hash() -> str:
    """Short hash of the download manifests: a changed pom means a new cache folder."""
    digest = hashlib.sha256()
    for pom in sorted((infra_dir() / "maven").rglob("pom.xml")):
        digest.update(pom.read_bytes())
    return digest.hexdigest()[:8]


@dataclass(frozen=True)
class Layout:
    """Every path the stack uses, derived from the settings."""

    cache: Path  # downloads, shared by checkouts, one folder per version set
    data: Path  # all runtime state of one stack
    minio_cache: Path  # MinIO's build, one folder per MinIO version (a pom change keeps it)

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        root = settings.stack.cache_dir
        return cls(
            cache=root / f"{versions.stack_fingerprint()}-{_manifest_hash()}",
            data=settings.stack.data_dir,
            minio_cache=root / f"minio-{versions.MINIO[-12:]}",
        )

    # Cache --------------------------------------------------------------
    @property
    def kafka_libs(self) -> Path:
        return self.cache / "kafka" / "libs"

    @property
    def kafka_tools(self) -> Path:
        """Kafka's perf tools (ProducerPerformance, ConsumerPerformance) and their classpath."""
        return self.cache / "kafka" / "tools"

    @property
    def apicurio_dir(self) -> Path:
        return self.cache / "apicurio"

    @property
    def flink_jars(self) -> Path:
        return self.cache / "flink-jars"

    @property
    def minio_bin(self) -> Path:
        return self.minio_cache / "bin" / "minio"

    # The cluster profile's tools, beside the versioned folders of the cache.
    @property
    def nginx_bin(self) -> Path:
        """nginx from Debian's package, unpacked (not installed) into the cache."""
        return self.minio_cache.parent / "nginx" / "usr" / "sbin" / "nginx"

    @property
    def postgres_dir(self) -> Path:
        """PostgreSQL and the libraries it links: Debian's packages, unpacked into the cache."""
        return self.minio_cache.parent / f"postgresql-{versions.POSTGRES_MAJOR}"

    @property
    def mc_bin(self) -> Path:
        """MinIO's client `mc`: gives the cluster profile's clients a MinIO user of their own."""
        return self.minio_cache.parent / f"mc-{versions.MC[-12:]}" / "bin" / "mc"

    # The live page's assets and its browser test's browser, beside them too.
    @property
    def uplot_dir(self) -> Path:
        """uPlot's npm package, installed (`npm install --prefix`) into the cache."""
        return self.minio_cache.parent / f"uplot-{versions.UPLOT}"

    @property
    def uplot_dist(self) -> Path:
        """uPlot's build (uPlot.iife.min.js, uPlot.min.css): what the live page loads."""
        return self.uplot_dir / "node_modules" / "uplot" / "dist"

    @property
    def chromium_dir(self) -> Path:
        """Debian's chromium and chromedriver with the libraries they lack, unpacked."""
        return self.minio_cache.parent / "chromium"

    @property
    def ready_marker(self) -> Path:
        return self.cache / ".complete"

    # Data ---------------------------------------------------------------
    @property
    def run(self) -> Path:
        return self.data / "run"

    @property
    def logs(self) -> Path:
        return self.data / "logs"

    @property
    def flink_home(self) -> Path:
        return self.data / "flink-home"

    @property
    def lock_file(self) -> Path:
        """Held while services are started, so `up` and the supervisor never race."""
        return self.run / "stack.lock"

    def pid_file(self, service: str) -> Path:
        return self.run / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    def service_dir(self, service: str) -> Path:
        return self.data / service
