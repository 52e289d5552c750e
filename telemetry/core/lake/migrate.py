"""Add a previous version's lake (our own Parquet layout) to the Iceberg tables, in place.

The old layout, under s3://TELEMETRY_BUCKET/<prefix> and <prefix>-late::

    year=YYYY/month=MM/day=DD/hour=HH/part-<uuid>-<n>.parquet   (an open hour's files)
    year=YYYY/month=MM/day=DD/hour=HH/compacted-<uuid>.parquet  (a closed hour)
    year=YYYY/month=MM/day=DD/hour=HH/_MANIFEST.json            (a closed hour's files)

A closed hour's `_MANIFEST.json` names its files; only those are added, so an
hour caught mid-compaction (merged file beside the old ones) is not added
twice. The files are registered with pyiceberg's `add_files`, not copied: the
old job wrote Iceberg-compatible Parquet (timestamps as INT64 adjusted to UTC,
columns named as the contract's fields), and a table without field ids in its
files reads them by name. Files the table already holds are skipped, so a
second run adds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telemetry.core.config import Settings
from telemetry.core.errors import StorageError
from telemetry.core.lake.catalog import catalog_errors, ensure_table
from telemetry.core.lake.tables import LakeTable, late_table, window_table
from telemetry.core.progress import Say

if TYPE_CHECKING:
    import pyarrow.fs as pafs

__all__ = ["LEGACY_MANIFEST", "Migration", "legacy_files", "migrate"]

LEGACY_MANIFEST = "_MANIFEST.json"
LEGACY_LATE_SUFFIX = "-late"


@dataclass
class Migration:
    """What one run added (or would add, in a dry run), per table."""

    added: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    hours: dict[str, int] = field(default_factory=dict)


def legacy_files(filesystem: pafs.FileSystem, base: str) -> dict[str, list[str]]:
    """Hour folder -> its data files under `base` (bucket/prefix), following manifests."""
    # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
    import pyarrow.fs as pafs

    selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
    by_folder: dict[str, set[str]] = {}
    for info in filesystem.get_file_info(selector):
        if info.type == pafs.FileType.File:
            folder, _, name = info.path.rpartition("/")
            by_folder.setdefault(folder, set()).add(name)
    files: dict[str, list[str]] = {}
    for folder, names in sorted(by_folder.items()):
        if LEGACY_MANIFEST in names:
            listed = _manifest(filesystem, f"{folder}/{LEGACY_MANIFEST}")
            files[folder] = [f"{folder}/{name}" for name in listed]
        else:
            data = sorted(n for n in names if not n.startswith((".", "_")))
            if data:
                files[folder] = [f"{folder}/{name}" for name in data]
    return files


def _manifest(filesystem: pafs.FileSystem, path: str) -> list[str]:
    try:
        with filesystem.open_input_stream(path) as stream:
            return [str(name) for name in json.loads(stream.read())["files"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"cannot read the manifest {path}: {exc}") from exc


def migrate(
    settings: Settings,
    filesystem: pafs.FileSystem,
    base: str,
    *,
    scheme: str = "s3://",
    namespace: str | None = None,
    dry_run: bool = False,
    say: Say = print,
) -> Migration:
    """Add the windows under `base` and the late events under `base`-late to the tables."""
    result = Migration()
    for table, source in ((window_table(), base), (late_table(), base + LEGACY_LATE_SUFFIX)):
        _migrate_table(settings, filesystem, source, table, scheme, namespace, dry_run, say, result)
    return result


def _migrate_table(
    settings: Settings,
    filesystem: pafs.FileSystem,
    source: str,
    definition: LakeTable,
    scheme: str,
    namespace: str | None,
    dry_run: bool,
    say: Say,
    result: Migration,
) -> None:
    hours = legacy_files(filesystem, source)
    paths = [f"{scheme}{path}" for files in hours.values() for path in files]
    table = ensure_table(settings, definition, namespace)
    known = set(table.inspect.files().column("file_path").to_pylist()) if paths else set()
    new = [p for p in paths if p not in known]
    name = definition.name
    result.hours[name], result.added[name], result.skipped[name] = (
        len(hours),
        len(new),
        len(paths) - len(new),
    )
    say(
        f"{name}: {len(paths)} files in {len(hours)} hours under {scheme}{source}; "
        f"{len(new)} to add, {len(paths) - len(new)} already in the table"
    )
    if new and not dry_run:
        with catalog_errors(settings, f"{'.'.join(table.name())}"):
            table.add_files(new)
