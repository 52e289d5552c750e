"""The layers of pyproject.toml's import-linter contracts cover every module, the
Flink job, a script import-linter does not see, imports only the core, and no code
imports the project's own modules inside a function (where import-linter and a reader
would miss a dependency, or a cycle hides)."""

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


PROJECT_PACKAGES = ("telemetry", "producer")
SOURCE_FOLDERS = ("telemetry", "producer", "flink", "bench")


def function_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of each import inside a function or method; a relative import's
    module starts with its dots."""
    found = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom):
                found.append((node.lineno, f"{'.' * node.level}{node.module or ''}"))
            elif isinstance(node, ast.Import):
                found += [(node.lineno, alias.name) for alias in node.names]
    return sorted(set(found))


def late_project_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of each import of a project module inside a function or method.

    Module-level imports, `if TYPE_CHECKING:` blocks among them, are fine; so is a late
    import of a package of LATE_IMPORT_PACKAGES (below). A relative import is the
    project's own."""
    return [
        (line, name)
        for line, name in function_imports(source)
        if name.startswith(".") or name.split(".")[0] in PROJECT_PACKAGES
    ]


def test_late_project_imports_are_found() -> None:
    source = (
        "from telemetry.core.config import Settings\n"
        "def f():\n"
        "    import numpy as np\n"
        "    class C:\n"
        "        def g(self):\n"
        "            from producer.track import TRACKS\n"
        "    import telemetry.core.kafka_config, json\n"
        "    from . import sibling\n"
    )
    assert late_project_imports(source) == [
        (6, "producer.track"),
        (7, "telemetry.core.kafka_config"),
        (8, "."),
    ]


def test_no_project_module_is_imported_inside_a_function() -> None:
    late = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for folder in SOURCE_FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, module in late_project_imports(path.read_text(encoding="utf-8"))
    ]
    assert late == [], (
        "import the project's modules at the top of the module (a cycle is fixed by moving "
        "code, not by a late import):\n" + "\n".join(late)
    )


# The only packages imported inside functions. pyarrow, and pyiceberg which loads pyarrow.fs:
# pyarrow takes its CA file when pyarrow.fs is first imported, so only after
# telemetry.core.storage.arrow_trust.trust() has pointed it at the S3 endpoint's CA.
# pandas, matplotlib and sqlalchemy: a tenth of a second or more each, for one use each
# (`bench/startup.py` measures them).
LATE_IMPORT_PACKAGES = frozenset({"pyarrow", "pyiceberg", "pandas", "matplotlib", "sqlalchemy"})


def late_imports(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of each import inside a function or method."""
    return sorted(
        {
            (line, "." if name.startswith(".") else name.split(".")[0])
            for line, name in function_imports(source)
        }
    )


def test_only_packages_that_slow_every_start_are_imported_late() -> None:
    late = [
        f"{path.relative_to(ROOT)}:{line}: {package}"
        for folder in SOURCE_FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, package in late_imports(path.read_text(encoding="utf-8"))
        if package not in LATE_IMPORT_PACKAGES
    ]
    assert late == [], (
        "import at the top of the module (late only for LATE_IMPORT_PACKAGES, and why is "
        "beside them):\n" + "\n".join(late)
    )


def test_late_imports_are_found_with_their_package() -> None:
    source = "import os\ndef f():\n    import numpy as np\n    from pyarrow import compute\n"
    assert late_imports(source) == [(3, "numpy"), (4, "pyarrow")]
