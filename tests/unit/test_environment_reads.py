"""The environment is read only in telemetry/core/config.py.

The rule, checked on the syntax tree of every module of telemetry/, producer/,
flink/ and bench/ but telemetry/core/config.py:

- `os.getenv`, `os.getenvb`, `os.environb`, `os.putenv`, `os.unsetenv` never
  appear, nor `from os import environ` (or any of those names);
- `os.environ` appears only (i) copied whole for a child process:
  `dict(os.environ, ...)`, `os.environ.copy()`, `{**os.environ, ...}`,
  `os.environ | {...}` (`os.environ if base is None else base` counts as
  `os.environ` there), or (ii) as the target of an item assignment,
  `os.environ[name] = value`: a write, for libraries that read only the process
  environment (PyFlink's gateway launcher, pyarrow's SSL_CERT_FILE).

Everything else is a read: `.get`, `os.environ[name]`, `name in os.environ`,
iteration, `.items()`, `.setdefault`. A setting is declared in telemetry.core.config
and reaches a module as `Settings`; another tool's variable is read by a
function there (`ci_annotations`, `ssl_cert_file`, `inherited_environ`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("telemetry", "producer", "flink", "bench")
CONFIG = ROOT / "telemetry" / "core" / "config.py"
NEVER = frozenset({"environb", "getenv", "getenvb", "putenv", "unsetenv"})


def _copied_or_written(node: ast.expr, parents: dict[ast.AST, ast.AST]) -> bool:
    expr: ast.AST = node
    parent = parents.get(expr)
    while isinstance(parent, ast.IfExp) and expr in (parent.body, parent.orelse):
        expr, parent = parent, parents.get(parent)
    if isinstance(parent, ast.Call):  # dict(os.environ, ...)
        func = parent.func
        return isinstance(func, ast.Name) and func.id == "dict" and parent.args[:1] == [expr]
    if isinstance(parent, ast.Attribute) and parent.attr == "copy":  # os.environ.copy()
        call = parents.get(parent)
        return isinstance(call, ast.Call) and call.func is parent and not call.args
    if isinstance(parent, ast.Dict):  # {**os.environ, ...}
        return any(k is None and v is expr for k, v in zip(parent.keys, parent.values, strict=True))
    if isinstance(parent, ast.BinOp):  # os.environ | {...}
        return isinstance(parent.op, ast.BitOr) and parent.left is expr
    if isinstance(parent, ast.Subscript):  # os.environ[name] = value
        return parent.value is expr and isinstance(parent.ctx, ast.Store)
    return False


def environment_reads(source: str) -> list[tuple[int, str]]:
    """(line, code) of every read of the environment the rule above forbids."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    os_names = {
        alias.asname or "os"
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "os"
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(alias.name in NEVER | {"environ"} for alias in node.names):
                found.append((node.lineno, ast.unparse(node)))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in os_names
            and (node.attr in NEVER or node.attr == "environ")
            and not (node.attr == "environ" and _copied_or_written(node, parents))
        ):
            shown = parents.get(node, node)
            found.append((node.lineno, ast.unparse(shown)))
    return found


@pytest.mark.parametrize(
    "code",
    [
        "import os\nos.environ.get('X')",
        "import os\nos.getenv('X')",
        "import os\nx = os.environ['X']",
        "import os\n'X' in os.environ",
        "import os\nos.environ.setdefault('X', 'y')",
        "import os\n{k: v for k, v in os.environ.items()}",
        "import os as o\no.environ.get('X')",
        "from os import environ",
        "from os import getenv",
        "import os\ndict(os.environ).get('X') if os.environ else None",
    ],
)
def test_the_rule_catches_a_read(code: str) -> None:
    assert environment_reads(code)


@pytest.mark.parametrize(
    "code",
    [
        "import os\nrun(env=dict(os.environ, A='1'))",
        "import os\nrun(env=os.environ.copy())",
        "import os\nrun(env={**os.environ, 'A': '1'})",
        "import os\nrun(env=os.environ | {'A': '1'})",
        "import os\nenv = dict(os.environ if base is None else base)",
        "import os\nos.environ['SSL_CERT_FILE'] = bundle",
        "import os\nos.path.join('a', 'b')",
    ],
)
def test_the_rule_allows_copying_for_a_child_and_writing(code: str) -> None:
    assert environment_reads(code) == []


def test_only_the_configuration_reads_the_environment() -> None:
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == CONFIG:
                continue
            for line, code in environment_reads(path.read_text(encoding="utf-8")):
                problems.append(f"{path.relative_to(ROOT)}:{line}: {code}")
    assert not problems, "read these through telemetry.core.config:\n" + "\n".join(problems)


def test_the_configuration_does_read_it() -> None:
    """The check looks where it should: config.py itself breaks the rule."""
    assert environment_reads(CONFIG.read_text(encoding="utf-8"))
