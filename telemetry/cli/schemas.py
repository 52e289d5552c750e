"""`telemetry schemas register|check|compat`: schemas as contracts.

Exit codes: 0 ok, 1 incompatible / refused / drift, 2 invalid input.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from telemetry.cli.completion import file_argument
from telemetry.cli.output import ANNOTATIONS, FORMATS, annotation, emit, emit_document
from telemetry.core.config import ci_annotations, load_settings
from telemetry.core.errors import InvalidInputError
from telemetry.core.registry import Registry, connect
from telemetry.core.schemas.check import COLUMNS, Report, run_check
from telemetry.core.schemas.compatibility import Violation, check_evolution, normalize_level
from telemetry.core.schemas.parse import parse_file
from telemetry.core.schemas.register import drift, register_all
from telemetry.core.schemas.subjects import LEVELS, load_catalog, schemas_dir

PROBE_SECONDS = 1.0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schemas",
        help="register and check the Avro schemas under schemas/",
        description="Avro schemas as contracts: register them, check their evolution.",
        epilog="Exit codes: 0 ok, 1 incompatible, refused or drift, 2 invalid input.",
    )
    commands = parser.add_subparsers(dest="schemas_command", metavar="SUBCOMMAND", required=True)
    _register_command(commands)
    _check_command(commands)
    _compat_command(commands)


def _register_command(commands: argparse._SubParsersAction) -> None:
    reg = commands.add_parser(
        "register",
        help="register every version of every subject, in order (idempotent)",
        description=(
            "Set each subject's compatibility level (schemas/subjects.toml), then register every "
            "version file v1..vN in order, as the exact file text. Versions already registered "
            "are not registered again. Prints subject, version, id, level. Fails with the "
            "registry's reason if it refuses a version; exit 1 on drift (the registry's latest "
            "version is none of the files)."
        ),
    )
    reg.add_argument(
        "--registry", metavar="URL", help="registry API (default: SCHEMA_REGISTRY_URL)"
    )
    reg.add_argument("--format", choices=FORMATS, default="table")
    reg.set_defaults(func=run_register)


def _check_command(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check",
        help="check every schema file (CI runs this)",
        description=(
            "Every file parses with fastavro and Apache Avro; each subject's versions keep its "
            "declared level (avro.compatibility); the Iceberg table of a subject (windows, "
            "late_events) can add every version's columns (union_by_name); released versions "
            "are unchanged since the git base; and, when a registry is reachable, its "
            "compatibility API agrees."
        ),
        epilog="Exit codes: 0 all good, 1 incompatible or changed, 2 a file does not parse.",
    )
    check.add_argument(
        "--base",
        metavar="REF",
        help="git base for immutability (default: merge base with origin/main, "
        "else the previous commit)",
    )
    where = check.add_mutually_exclusive_group()
    where.add_argument(
        "--registry",
        metavar="URL",
        help="compare with this registry (default: the configured one if it "
        f"answers within {PROBE_SECONDS:g}s, else skipped)",
    )
    where.add_argument("--no-registry", action="store_true", help="skip the registry comparison")
    check.add_argument("--format", choices=FORMATS, default="table")
    check.add_argument(
        "--annotations",
        choices=("auto", *ANNOTATIONS, "none"),
        default="auto",
        help="print each finding on its file line: `github` as GitHub Actions error "
        "commands (stdout), `plain` as `file:line: message` (stderr); `auto` (default): "
        "github when GITHUB_ACTIONS=true, plain when CI=true, else none. Table format only",
    )
    check.set_defaults(func=run_check_command)


def _compat_command(commands: argparse._SubParsersAction) -> None:
    compat = commands.add_parser(
        "compat",
        help="is NEW compatible with OLD at a level?",
        description=(
            "Check NEW.avsc (the last file) against OLD.avsc at a Confluent compatibility level. "
            "BACKWARD: a reader on NEW reads data written with OLD; FORWARD: a reader on OLD "
            "reads data written with NEW; FULL: both; NONE: always compatible. The _TRANSITIVE "
            "levels take several OLD files, oldest first, and check NEW against each; the other "
            "levels check only the last OLD."
        ),
        epilog=(
            "Every problem is listed with its field path, the rule broken, the direction "
            "(which version cannot read which) and a fix; --format json gives the same list "
            "with path, rule, direction, reader_type, writer_type and fix. "
            "Exit codes: 0 compatible, 1 incompatible (the reasons are printed), "
            "2 invalid input (unparseable file, unknown level). "
            "Example: telemetry schemas compat v1.avsc v2.avsc --level FULL"
        ),
    )
    file_argument(
        compat.add_argument(
            "files", nargs="+", metavar="FILE", help="OLD.avsc [OLD.avsc ...] NEW.avsc"
        )
    )
    compat.add_argument(
        "--level",
        default="BACKWARD",
        metavar="LEVEL",
        help=f"one of {', '.join(LEVELS)} (default BACKWARD)",
    )
    compat.add_argument("--format", choices=FORMATS, default="table")
    compat.set_defaults(func=run_compat)


def run_register(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    registry = connect(url=args.registry or load_settings().registry.url)
    rows = register_all(registry, catalog)
    emit(
        [asdict(r) for r in rows],
        ("subject", "file", "version", "id", "level", "status"),
        args.format,
    )
    messages = drift(registry, catalog)
    for message in messages:
        print(f"warning: {message}", file=sys.stderr)
    if args.format == "table":
        fresh = sum(r.status == "registered" for r in rows)
        print(f"{fresh} registered, {len(rows) - fresh} already registered")
    return 1 if messages else 0


def run_check_command(args: argparse.Namespace) -> int:
    registry, notes = _check_registry(args)
    report = run_check(schemas_dir(), args.base, registry)
    notes += report.notes
    if args.format == "json":
        emit_document(
            {
                "ok": report.exit_code == 0,
                "exit_code": report.exit_code,
                "findings": [f.to_dict() for f in report.findings],
                "notes": notes,
            }
        )
        return report.exit_code
    for note in notes:
        print(f"note: {note}")
    if report.findings:
        emit([f.to_dict() for f in report.findings], COLUMNS)
        _print_errors(report, ci_annotations() if args.annotations == "auto" else args.annotations)
    else:
        print(
            "schemas ok: every file parses, every subject keeps its level, "
            "every Iceberg table takes every version, no released version changed"
        )
    return report.exit_code


def _print_errors(report: Report, style: str | None) -> None:
    """One line per finding: a CI annotation on its file line, else `error: ...`."""
    for f in report.findings:
        text = f"{f.subject} {f.versions}{' at ' + f.level if f.level else ''}: "
        text += f"{f.path + ': ' if f.path and f.line else ''}{f.rule}: {f.message}. Fix: {f.fix}"
        if style in ANNOTATIONS and f.file:
            stream = sys.stdout if style == "github" else sys.stderr
            print(annotation(style, f.file, f.line, text), file=stream)
        else:
            print(f"error: {f.subject} {f.versions}: {f.message}", file=sys.stderr)


def _check_registry(args: argparse.Namespace) -> tuple[Registry | None, list[str]]:
    if args.no_registry:
        return None, ["registry comparison skipped (--no-registry)"]
    if args.registry:
        return connect(url=args.registry), []
    url = load_settings().registry.url
    probe = connect(url=url, timeout=PROBE_SECONDS, retries=0)
    if not probe.reachable():
        return None, [f"registry at {url} not reachable; registry comparison skipped"]
    return connect(url=url), [f"compared with the registry at {url}"]


def run_compat(args: argparse.Namespace) -> int:
    level = normalize_level(args.level)
    if len(args.files) < 2:
        raise InvalidInputError("compat needs OLD.avsc and NEW.avsc (several OLD for _TRANSITIVE)")
    *olds, new = [parse_file(Path(p)) for p in args.files]
    violations = check_evolution(level, olds, new)
    if args.format == "json":
        emit_document(
            {
                "compatible": not violations,
                "level": level,
                "new": new.source,
                "problems": [p.to_dict() for v in violations for p in v.problems],
            }
        )
        return 1 if violations else 0
    if not violations:
        print(f"compatible: {new.source} at {level}")
        return 0
    print(_compat_text(new.source, level, violations))
    return 1


def _compat_text(new: str, level: str, violations: list[Violation]) -> str:
    count = sum(len(v.problems) for v in violations)
    lines = [f"incompatible: {new} at {level}: {count} problem{'s' if count != 1 else ''}"]
    for violation in violations:
        lines.append(f"{violation.problems[0].direction_text}:")
        for p in violation.problems:
            lines += [
                f"  {p.path}: {p.rule}",
                f"    {p.message}",
                f"    fix: {p.fix}",
            ]
    return "\n".join(lines)
