"""The project installs as a plain package: `pip install .` (no checkout at run time).

pyproject.toml ships schemas/, infra/ and flink/ inside the package as
telemetry._bundled.* (telemetry.core.config.bundled). The slow test builds the wheel
offline, installs it with `pip install --target` into a temporary folder and, from
outside the checkout, checks that the installed copy finds everything in itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from telemetry.core.bundled import BUNDLED
from telemetry.core.config import load_settings
from telemetry.core.contract import job_jar
from telemetry.core.schemas import load_catalog

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "telemetry", "producer", *BUNDLED)
# What a build leaves in a source tree; flink/jvm/target is `mvn package`'s output.
BUILD_OUTPUT = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "target")


def test_pyproject_lists_every_package_and_maps_the_bundled_folders() -> None:
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("telemetry", "producer")
        for init in (ROOT / top).rglob("__init__.py")
    }
    bundled = {f"telemetry._bundled.{name}": name for name in BUNDLED}
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert sorted(config["packages"]) == sorted(on_disk | bundled.keys())
    assert config["package-dir"] == bundled
    for name in BUNDLED:
        assert (ROOT / name / "__init__.py").is_file(), f"{name}/ needs it to be a package"


def _files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline from a copy of the sources and installed with --target."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "source"  # a copy: the build writes build/ and an egg-info into its tree
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=BUILD_OUTPUT)
        else:
            shutil.copy2(path, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    offline = ["--no-index", "--no-deps"]
    _run([*pip, "wheel", *offline, "--no-build-isolation", "-w", str(tmp / "dist"), "."], source)
    (wheel,) = (tmp / "dist").glob("*.whl")
    _run([*pip, "install", *offline, "--target", str(tmp / "site"), str(wheel)], tmp)
    return tmp / "site"


def _installed_env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TELEMETRY_SCHEMAS_DIR"}
    env["PYTHONPATH"] = str(site)
    return env


WHERE = """
import json, telemetry
from telemetry.core.config import load_settings
from telemetry.core.contract import job_jar, job_script, job_sources
from telemetry.ops.host.layout import Layout, infra_dir
from telemetry.core.schemas import load_catalog, schemas_dir

settings = load_settings()
print(json.dumps({
    "package": telemetry.__file__,
    "schemas": str(schemas_dir(settings)),
    "subjects": {n: [v.version for v in s.versions] for n, s in load_catalog().items()},
    "infra": str(infra_dir()),
    "cache": str(Layout.of(settings).cache),
    "job_script": str(job_script()),
    "job_sources": str(job_sources()),
    "job_jar": str(job_jar(settings)),
}))
"""


@pytest.mark.slow
def test_the_installed_wheel_finds_its_schemas_infra_and_job_inside_itself(site: Path) -> None:
    cwd = site.parent  # outside the checkout
    found = json.loads(_run([sys.executable, "-c", WHERE], cwd, _installed_env(site)))
    bundled = site / "telemetry" / "_bundled"
    # The installed copy, not the editable install's finder (the checkout).
    assert Path(found["package"]) == site / "telemetry" / "__init__.py"
    assert Path(found["schemas"]) == bundled / "schemas"
    assert Path(found["infra"]) == bundled / "infra"
    assert Path(found["job_script"]) == bundled / "flink" / "telemetry_job.py"
    assert Path(found["job_sources"]) == bundled / "flink" / "jvm"
    checkout = {
        n: [v.version for v in s.versions] for n, s in load_catalog(ROOT / "schemas").items()
    }
    assert found["subjects"] == checkout
    # Every file the code reads: the folders as in the checkout (less build output, docs).
    assert _files(bundled / "schemas") == _files(ROOT / "schemas")
    assert _files(bundled / "infra") == _files(ROOT / "infra")
    jvm = {f for f in _files(ROOT / "flink") if f.startswith("jvm/src/")}
    assert _files(bundled / "flink") == {"__init__.py", "telemetry_job.py", "jvm/pom.xml", *jvm}
    # The jar lives in the cache, named by its sources: the checkout's build serves both.
    jar = Path(found["job_jar"])
    assert jar.parents[1] == load_settings().stack.cache_dir
    assert jar.parent.name == job_jar().parent.name
    assert Path(found["cache"]).parent == load_settings().stack.cache_dir


@pytest.mark.slow
def test_the_installed_command_runs_and_checks_the_packaged_schemas(site: Path) -> None:
    cwd, env = site.parent, _installed_env(site)
    telemetry = [sys.executable, "-m", "telemetry"]
    assert "usage:" in _run([*telemetry, "--help"], cwd, env)
    out = _run([*telemetry, "schemas", "check", "--no-registry", "--format", "json"], cwd, env)
    report = json.loads(out)
    assert report["ok"], report
    schemas = site / "telemetry" / "_bundled" / "schemas"
    assert any(str(schemas) in note for note in report["notes"]), "it read the packaged ones"
