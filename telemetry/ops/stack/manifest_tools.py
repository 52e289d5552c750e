"""Tools that check the deployment files without Docker or Kubernetes.

    docker-compose      Docker's compose CLI built from its Go module
                        (github.com/docker/compose/v5 at versions.COMPOSE);
                        `config` parses, validates against the compose
                        specification and interpolates without an engine.
    validate-manifests  infra/k8s/validate (Go): strict decoding of every
                        manifest into the Kubernetes API types, the API
                        server's validation of built-in kinds, and the Flink
                        operator's CRD schemas (infra/k8s/validate/crds).

Both are built with the Go toolchain into TELEMETRY_CACHE_DIR/tools/, once:
the compose binary per version, the validator per hash of its sources. They
are independent of the server downloads, so a new tool never refetches Kafka.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from telemetry.core.config import Settings
from telemetry.core.progress import Say
from telemetry.ops.host import versions
from telemetry.ops.host.layout import infra_dir
from telemetry.ops.stack.steps import GO_LOG, LogTally, run_step

__all__ = ["ManifestTools", "build_manifest_tools", "validator_source"]

COMPOSE_MODULE = "github.com/docker/compose/v5"


@dataclass(frozen=True)
class ManifestTools:
    compose: Path  # docker-compose binary
    validate_manifests: Path  # infra/k8s/validate binary
    crds: Path  # the Flink operator CRDs the validator reads


def validator_source() -> Path:
    return infra_dir() / "k8s" / "validate"


def _tools_dir(settings: Settings) -> Path:
    return settings.stack.cache_dir / "tools"


def _source_hash(module: Path) -> str:
    """Hash of the validator's sources: a change means a new binary."""
    digest = hashlib.sha256()
    for path in sorted([*module.glob("*.go"), module / "go.mod", module / "go.sum"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _go(step: str, args: list[str], log: Path, say: Say, cwd: Path, capture: bool = False) -> str:
    """Run `go ARGS` in cwd, output appended to log; a ServiceError with its tail on failure."""
    return run_step(
        step,
        ["go", *args],
        log,
        say,
        fix="check access to the Go module proxy and rerun",
        label=f"go {args[0]}",
        tally=LogTally(GO_LOG),
        append=True,
        capture=capture,
        cwd=cwd,
        env=dict(os.environ, CGO_ENABLED="0"),
    )


def _build_compose(settings: Settings, say: Say) -> Path:
    target = _tools_dir(settings) / f"docker-compose-{versions.COMPOSE}" / "docker-compose"
    if target.is_file():
        return target
    log = target.parent / "build.log"
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built inside the downloaded module, as its own main module: its go.mod
    # has exclude directives, which `go install module@version` refuses.
    info = _go(
        f"download {COMPOSE_MODULE}@{versions.COMPOSE} from the Go module proxy",
        ["mod", "download", "-json", f"{COMPOSE_MODULE}@{versions.COMPOSE}"],
        log,
        say,
        cwd=target.parent,
        capture=True,
    )
    module_dir = Path(json.loads(info)["Dir"])
    partial = target.with_suffix(".partial")
    _go(
        f"build docker-compose {versions.COMPOSE} (a few minutes the first time)",
        [
            "build",
            "-v",
            "-trimpath",
            "-ldflags",
            f"-s -w -X {COMPOSE_MODULE}/internal.Version={versions.COMPOSE}",
            "-o",
            str(partial),
            "./cmd",
        ],
        log,
        say,
        cwd=module_dir,
    )
    partial.replace(target)
    return target


def _build_validator(settings: Settings, say: Say) -> Path:
    module = validator_source()
    target = (
        _tools_dir(settings) / f"validate-manifests-{_source_hash(module)}" / "validate-manifests"
    )
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    _go(
        "build the Kubernetes manifest validator (infra/k8s/validate; minutes the first time)",
        ["build", "-v", "-trimpath", "-buildvcs=false", "-o", str(partial), "."],
        target.parent / "build.log",
        say,
        cwd=module,
    )
    partial.replace(target)
    return target


def build_manifest_tools(settings: Settings, say: Say = print) -> ManifestTools:
    """Both tools, built if missing (cached in TELEMETRY_CACHE_DIR/tools/)."""
    return ManifestTools(
        compose=_build_compose(settings, say),
        validate_manifests=_build_validator(settings, say),
        crds=validator_source() / "crds",
    )
