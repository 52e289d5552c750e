"""The layers of pyproject.toml's import-linter contract cover every module, and the
Flink job, a script import-linter does not see, imports only the core."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def layers() -> list[set[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return [{m.strip() for m in layer.split(":")} for layer in contract["layers"]]


def top_level_modules() -> set[str]:
    names = set()
    for path in (ROOT / "telemetry").iterdir():
        module = path.suffix == ".py" and path.name != "__init__.py"
        package = path.is_dir() and (path / "__init__.py").is_file()
        if module or package:
            names.add(f"telemetry.{path.stem}")
    return names


def test_every_module_of_the_package_is_in_one_layer() -> None:
    placed = [m for layer in layers() for m in layer if m.startswith("telemetry.")]
    assert len(placed) == len(set(placed)), "a module is in two layers"
    assert set(placed) == top_level_modules()


def imported_project_modules(script: Path) -> set[str]:
    tree = ast.parse(script.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.split(".")[0] in ("telemetry", "producer")}


def test_the_flink_job_imports_only_the_core() -> None:
    core = layers()[-1]
    imported = imported_project_modules(ROOT / "flink" / "telemetry_job.py")
    assert imported, "the job imports the core's settings and contracts"
    outside = {m for m in imported if not any(m == c or m.startswith(c + ".") for c in core)}
    assert outside == set(), f"the job imports modules above the core: {sorted(outside)}"
