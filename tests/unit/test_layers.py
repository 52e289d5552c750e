"""The layers of pyproject.toml's import-linter contracts cover every module, and the
Flink job, a script import-linter does not see, imports only the core."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def layers(container: str | None = None) -> list[set[str]]:
    """The layers of the contract over `container` (None: the whole-project one)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (contract,) = [
        c for c in contracts if c["type"] == "layers" and c.get("containers", [None]) == [container]
    ]
    return [{m.strip() for m in re.split(r"[:|]", layer)} for layer in contract["layers"]]


def modules_in(package: Path, prefix: str) -> set[str]:
    names = set()
    for path in package.iterdir():
        module = path.suffix == ".py" and path.name != "__init__.py"
        subpackage = path.is_dir() and (path / "__init__.py").is_file()
        if module or subpackage:
            names.add(f"{prefix}{path.stem}")
    return names


def test_every_module_of_the_package_is_in_one_layer() -> None:
    placed = [m for layer in layers() for m in layer if m.startswith("telemetry.")]
    assert len(placed) == len(set(placed)), "a module is in two layers"
    assert set(placed) == modules_in(ROOT / "telemetry", "telemetry.")


def test_every_module_of_the_operations_is_in_one_of_their_layers() -> None:
    placed = [m for layer in layers("telemetry.ops") for m in layer]
    assert len(placed) == len(set(placed)), "a module is in two layers"
    assert set(placed) == modules_in(ROOT / "telemetry" / "ops", "")


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
