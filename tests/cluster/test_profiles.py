"""Profiles never cross, as a user would meet it: `eval "$(telemetry env)"` of one profile,
then `make up PROFILE=` of the other, in the same shell, with both stacks' data on disk.

Runs in the cluster tier (the cluster stack up); it brings the local stack up and down
around it, and leaves it as it found it.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from telemetry.core.config import (
    ENV_DEFAULTS_MARK,
    ENV_PROFILE_MARK,
    ENV_VARS,
    PROFILE_FILE,
    SECRETS_FILE,
    Settings,
    load_settings,
)
from telemetry.core.lake import window_table
from telemetry.core.lake.catalog import ensure_table, load
from telemetry.core.registry import connect
from telemetry.core.schemas import load_catalog, schemas_dir
from telemetry.ops import stack as stacks

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

CHECKOUT = Path(__file__).resolve().parents[2]
TELEMETRY = str(CHECKOUT / ".venv" / "bin" / "telemetry")
MAKE_TIMEOUT_S = 600
# A table of the test's own, for a folder the local tests have not filled.
SENTINEL_NAMESPACE = "profiles_test"


@pytest.fixture(scope="module", autouse=True)
def cluster_profile() -> None:
    assert os.environ.get("TELEMETRY_PROFILE") == "cluster", (
        "run these with TELEMETRY_PROFILE=cluster (make test-cluster)"
    )


def fresh_shell(**extra: str) -> dict[str, str]:
    """A user's shell: none of our variables set, nor their marks, nor make's own."""
    ours = {var.name for var in ENV_VARS} | {ENV_PROFILE_MARK, ENV_DEFAULTS_MARK}
    ours |= {name for name in os.environ if name.startswith(("PYICEBERG_", "MAKE", "MFLAGS"))}
    return {k: v for k, v in os.environ.items() if k not in ours} | extra


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env, cwd=CHECKOUT, capture_output=True, text=True, timeout=MAKE_TIMEOUT_S
    )


def exported_env(profile: str) -> dict[str, str]:
    """The shell after `eval "$(telemetry env)"` under `profile`."""
    shell = fresh_shell(TELEMETRY_PROFILE=profile)
    result = run([TELEMETRY, "env"], shell)
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        _export, assignment = shlex.split(line)
        name, _, value = assignment.partition("=")
        shell[name] = value
    return shell


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tables(settings: Settings) -> list[str]:
    """The catalog's tables (an SQLite file: readable with the stack down)."""
    catalog = load(settings)
    return sorted(
        ".".join(identifier)
        for namespace in catalog.list_namespaces()
        for identifier in catalog.list_tables(namespace)
    )


def registered_versions(settings: Settings) -> dict[str, list[int]]:
    """The project's subjects and the versions the running registry has of each."""
    registry = connect(settings)
    return {subject: registry.versions(subject) for subject in load_catalog(schemas_dir(settings))}


def manifest_versions(settings: Settings) -> dict[str, list[int]]:
    """The versions `telemetry schemas register` registers of each subject."""
    catalog = load_catalog(schemas_dir(settings))
    return {name: list(range(1, len(s.versions) + 1)) for name, s in catalog.items()}


@pytest.fixture(scope="module")
def local_stack_with_data(stack: Settings) -> Iterator[Settings]:
    """The local profile's stack in its default folder, with its schemas and tables, stopped
    (as after `make down`); left running at the end if it was.

    The local tests leave such a folder behind; on its own, this makes one first.
    """
    local = load_settings(fresh_shell(TELEMETRY_PROFILE="local"))
    was_up = all(s.healthy for s in stacks.status(local))
    has_data = (local.stack.data_dir / SECRETS_FILE).is_file() and tables(local)
    if not has_data:
        local = stacks.up(local, say=lambda _m: None, resume_jobs=False)
        registered = run([TELEMETRY, "schemas", "register"], fresh_shell())
        assert registered.returncode == 0, registered.stderr
        ensure_table(local, window_table(), SENTINEL_NAMESPACE)
    stacks.down(local, say=lambda _m: None)
    yield local
    if not was_up:
        stacks.down(local, say=lambda _m: None)


def test_the_cluster_profile_started_from_an_exported_local_env_keeps_to_its_own_folder(
    stack: Settings, local_stack_with_data: Settings
) -> None:
    local = local_stack_with_data
    tables_before = tables(local)
    secrets = digest(local.stack.data_dir / SECRETS_FILE)

    shell = exported_env("local")
    assert shell["TELEMETRY_DATA_DIR"] == str(local.stack.data_dir)
    result = run(["make", "up", "PROFILE=cluster"], shell)

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert digest(local.stack.data_dir / SECRETS_FILE) == secrets
    assert not (local.stack.data_dir / "tls").exists()
    assert not (local.stack.data_dir / "minio-certs").exists()
    assert (local.stack.data_dir / PROFILE_FILE).read_text().strip() == "local"
    assert str(stack.stack.data_dir) in result.stdout
    assert f"{local.stack.data_dir}/" not in result.stdout

    # The reverse: the cluster profile's env exported, then the local stack started.
    cluster_secrets = digest(stack.stack.data_dir / SECRETS_FILE)
    result = run(["make", "up", "PROFILE=local"], exported_env("cluster"))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert digest(stack.stack.data_dir / SECRETS_FILE) == cluster_secrets
    assert digest(local.stack.data_dir / SECRETS_FILE) == secrets
    assert all(s.healthy for s in stacks.status(local))
    assert tables(local) == tables_before, "the local catalog is intact"
    assert registered_versions(local) == manifest_versions(local), "the schemas are intact"
    assert all(s.healthy for s in stacks.status(stack)), "the cluster stack was left alone"


def test_a_data_folder_of_the_other_profile_is_refused_in_one_line(
    stack: Settings, local_stack_with_data: Settings
) -> None:
    local_folder = local_stack_with_data.stack.data_dir
    secrets = digest(local_folder / SECRETS_FILE)
    shell = fresh_shell(TELEMETRY_DATA_DIR=str(local_folder))
    result = run(["make", "up", "PROFILE=cluster"], shell)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert f"TELEMETRY_DATA_DIR={local_folder} belongs to the local profile" in errors[0]
    assert digest(local_folder / SECRETS_FILE) == secrets

    shell = fresh_shell(TELEMETRY_DATA_DIR=str(stack.stack.data_dir))
    result = run(["make", "up", "PROFILE=local"], shell)
    assert result.returncode != 0
    assert f"TELEMETRY_DATA_DIR={stack.stack.data_dir} belongs to the cluster" in result.stderr
