"""`telemetry schemas check`: parse, evolution, Iceberg tables, immutability, registry.

Every finding names the subject, the versions, the rule broken, the field path
and the fix; compatibility findings also the direction and both types, Iceberg
findings the table, and every finding about a file its path and, where known,
the line (for CI annotations). Exit code of a report: 2 if a file does not
parse, 1 for any other error, else 0.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

from telemetry.core.errors import InvalidInputError, RegistryError
from telemetry.core.registry import Registry
from telemetry.core.schemas.compatibility import check_evolution, directions, is_transitive
from telemetry.core.schemas.iceberg import table_problems
from telemetry.core.schemas.immutability import check_immutable
from telemetry.core.schemas.locate import declaration_line
from telemetry.core.schemas.parse import ParsedSchema, parse_file
from telemetry.core.schemas.subjects import SchemaVersion, load_catalog, schemas_dir

__all__ = ["Finding", "Report", "run_check"]

COLUMNS = ("check", "subject", "versions", "direction", "rule", "path", "fix")


@dataclass(frozen=True)
class Finding:
    """One thing wrong. `path` is a field path (compatibility, iceberg) or a file path."""

    check: str  # parse | compatibility | iceberg | immutability | registry
    subject: str
    versions: str
    rule: str
    path: str
    message: str
    fix: str
    level: str = ""
    direction: str = ""  # BACKWARD | FORWARD (compatibility)
    reader_type: str | None = None
    writer_type: str | None = None
    file: str = ""  # the file to change, relative to the working directory if inside it
    line: int | None = None
    table: str = ""  # the Iceberg table (iceberg)

    def to_dict(self) -> dict[str, str | int | None]:
        return asdict(self)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if any(f.check == "parse" for f in self.findings):
            return InvalidInputError.exit_code
        return 1 if self.findings else 0


def run_check(
    directory: Path | None = None, base: str | None = None, registry: Registry | None = None
) -> Report:
    """Check `directory` (default: schemas/); compare with `registry` if given."""
    directory = directory or schemas_dir()
    catalog = load_catalog(directory)
    report = Report()
    parsed: dict[str, list[ParsedSchema]] = {}
    for name, subject in catalog.items():
        schemas = []
        for version in subject.versions:
            try:
                schemas.append(parse_file(version.path))
            except InvalidInputError as exc:
                report.findings.append(
                    Finding(
                        "parse",
                        name,
                        f"v{version.version}",
                        "parse",
                        "",
                        str(exc),
                        "fix the file so both fastavro and Apache Avro accept it",
                        file=display_path(version.path),
                        line=_error_line(str(exc)),
                    )
                )
        if len(schemas) == len(subject.versions):
            parsed[name] = schemas

    for name, schemas in parsed.items():
        report.findings += evolution_findings(
            name, catalog[name].compatibility, catalog[name].versions, schemas
        )
        report.findings += iceberg_findings(name, catalog[name].versions, schemas)

    immutability = check_immutable(directory, base)
    if immutability.note:
        report.notes.append(f"immutability: {immutability.note}")
    commit = cast(str, immutability.base)  # a commit whenever there are changes
    for change in immutability.changes:
        report.findings.append(
            Finding(
                "immutability",
                change.subject,
                f"v{change.version}",
                f"released version {change.status}",
                change.path,
                f"{change.path} is {change.status} since {commit[:12]}",
                f"restore it (git checkout {commit[:12]} -- {change.path}) "
                f"and put the change in v{len(catalog[change.subject].versions) + 1}.avsc"
                if change.subject in catalog
                else "restore it; released versions never change",
                file=display_path(directory / change.path),
            )
        )

    if registry is not None:
        for name, schemas in parsed.items():
            report.findings += compare_with_registry(
                registry, name, catalog[name].compatibility, schemas
            )
    return report


def evolution_findings(
    subject: str, level: str, versions: Sequence[SchemaVersion], schemas: Sequence[ParsedSchema]
) -> list[Finding]:
    """Every problem of every version against the ones before it, at `level`.

    A finding points at the new version's file, on the line declaring the
    field (or the deepest part of its path the file declares).
    """
    findings = []
    for k in range(1, len(schemas)):
        labels = [f"v{i + 1}" for i in range(k)]
        new = f"v{k + 1}"
        for violation in check_evolution(level, schemas[:k], schemas[k], labels, new):
            for problem in violation.problems:
                findings.append(
                    Finding(
                        "compatibility",
                        subject,
                        f"{new} vs {violation.old}",
                        problem.rule,
                        problem.path,
                        f"{problem.direction_text}: {problem.message}",
                        problem.fix,
                        level=level,
                        direction=problem.direction,
                        reader_type=problem.reader_type,
                        writer_type=problem.writer_type,
                        file=display_path(versions[k].path),
                        line=declaration_line(schemas[k].text, problem.path),
                    )
                )
    return findings


def iceberg_findings(
    subject: str, versions: Sequence[SchemaVersion], schemas: Sequence[ParsedSchema]
) -> list[Finding]:
    """Every field a version brings that the subject's Iceberg table cannot take.

    A finding points at the version's file, on the line declaring the field
    (the record's name for a dropped one).
    """
    findings = []
    for problem in table_problems(subject, [s.json for s in schemas]):
        index = problem.version - 1
        against = f" vs v{problem.against}" if problem.against else ""
        findings.append(
            Finding(
                "iceberg",
                subject,
                f"v{problem.version}{against}",
                problem.rule,
                problem.path,
                problem.message,
                problem.fix,
                file=display_path(versions[index].path),
                line=declaration_line(schemas[index].text, problem.path),
                table=problem.table,
            )
        )
    return findings


def display_path(path: Path) -> str:
    """`path` relative to the working directory when inside it (as CI annotations want)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def _error_line(message: str) -> int | None:
    match = re.search(r"\bat line (\d+)", message)
    return int(match.group(1)) if match else None


def compare_with_registry(
    registry: Registry, subject: str, level: str, schemas: list[ParsedSchema]
) -> list[Finding]:
    """Ask the registry the questions the local check answered; report disagreements.

    The questions go to a scratch subject (deleted afterwards) holding our
    versions, so the live subjects are never touched and need not exist yet.
    Each pair is asked per version (POST /compatibility/subjects/S/versions/N)
    at the non-transitive level of the same direction: Apicurio's
    all-versions endpoint ignores transitivity (see telemetry.core.registry).
    """
    wanted = directions(level)
    if not wanted or len(schemas) < 2:
        return []
    scratch = f"_check.{subject}.{uuid.uuid4().hex[:8]}"
    findings = []
    try:
        registry.set_level(scratch, "NONE")
        numbers = [registry.register(scratch, s.text).version for s in schemas]
        registry.set_level(scratch, level.removesuffix("_TRANSITIVE"))
        for k in range(1, len(schemas)):
            olds = range(k) if is_transitive(level) else [k - 1]
            for j in olds:
                ours = not check_evolution(
                    level.removesuffix("_TRANSITIVE"), [schemas[j]], schemas[k]
                )
                theirs = registry.is_compatible(scratch, schemas[k].text, numbers[j])
                if ours != theirs:
                    findings.append(
                        Finding(
                            "registry",
                            subject,
                            f"v{k + 1} vs v{j + 1}",
                            f"{level}: verdicts disagree",
                            "",
                            f"avro.compatibility says {_word(ours)}, the registry at "
                            f"{registry.url} says {_word(theirs)}",
                            "the registry decides at registration: follow the stricter verdict",
                        )
                    )
    finally:
        with contextlib.suppress(RegistryError):
            registry.delete_subject(scratch)
    return findings


def _word(compatible: bool) -> str:
    return "compatible" if compatible else "incompatible"
