"""Which files of the lake hold its rows, and the Arrow schema every file is read as.

Data files are the Parquet files of an hour folder whose names do not start
with `.` or `_` (telemetry.contract). A closed hour may have been compacted:
then its `_MANIFEST.json` lists its files, and only those are read, so a
reader never sees a row twice (old files beside their compacted copy) or
misses one while a compaction runs (`relisting`: a read whose listed file was
deleted before it was read lists again). Files written before names got the
`.parquet` suffix (no dot in the name) are data too.

Every file is read as the latest schema of its contract (schemas/), so files
written with older versions come back with the newer columns: null, or the
field's default when it has one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from telemetry.contract import DATA_SUFFIX, IGNORED_PREFIXES, MANIFEST, PARTITION_FIELDS
from telemetry.errors import StorageError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs

__all__ = [
    "LISTING_ATTEMPTS",
    "arrow_schema",
    "contract_defaults",
    "data_files",
    "is_data_file",
    "relisting",
]

T = TypeVar("T")
# How often a read lists the files again when one it listed is gone (compacted meanwhile).
LISTING_ATTEMPTS = 3


def is_data_file(name: str) -> bool:
    if name.startswith(IGNORED_PREFIXES):
        return False
    return name.endswith(DATA_SUFFIX) or "." not in name


def data_files(
    base: str, filesystem: pafs.FileSystem, folders: list[str] | None = None
) -> list[str]:
    """Paths of the data files under `base` (or only under the given `folders` of it)."""
    import pyarrow.fs as pafs

    roots = folders if folders is not None else [base]
    listed: list[pafs.FileInfo] = []
    for root in roots:
        selector = pafs.FileSelector(root, recursive=True, allow_not_found=True)
        listed += filesystem.get_file_info(selector)
    by_folder: dict[str, dict[str, pafs.FileInfo]] = defaultdict(dict)
    for info in listed:
        if info.type == pafs.FileType.File:
            by_folder[info.path.rsplit("/", 1)[0]][info.base_name] = info
    files: list[str] = []
    for folder, entries in sorted(by_folder.items()):
        if MANIFEST in entries:
            files += [f"{folder}/{name}" for name in _manifest(filesystem, f"{folder}/{MANIFEST}")]
        else:
            files += sorted(f"{folder}/{name}" for name in entries if is_data_file(name))
    return files


def relisting(url: str, list_and_read: Callable[[], T]) -> T:
    """`list_and_read()`, called again when a file it listed was gone by the time it read it.

    Compaction deletes an hour's old files only after the manifest names their compacted
    copy, so a second listing finds the copy. Vanishing `LISTING_ATTEMPTS` times in a row
    is a StorageError: something else is deleting files under `url`.
    """
    for _ in range(LISTING_ATTEMPTS):
        try:
            return list_and_read()
        except FileNotFoundError as exc:
            vanished = exc
    raise StorageError(
        f"files under {url} disappeared while being read, {LISTING_ATTEMPTS} times in a row; "
        "is something besides the job's compaction deleting them?"
    ) from vanished


def _manifest(filesystem: pafs.FileSystem, path: str) -> list[str]:
    try:
        with filesystem.open_input_stream(path) as stream:
            return [str(name) for name in json.loads(stream.read())["files"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"cannot read the manifest {path}: {exc}") from exc


_ARROW_PRIMITIVES = {
    "int": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "boolean": "bool_",
    "string": "string",
    "bytes": "binary",
}


def _arrow_type(avro_type: object) -> tuple[pa.DataType, bool]:
    import pyarrow as pa

    nullable = False
    if isinstance(avro_type, list):
        nullable = "null" in avro_type
        (avro_type,) = [b for b in avro_type if b != "null"]
    if isinstance(avro_type, dict):
        if avro_type.get("logicalType") == "timestamp-millis":
            return pa.timestamp("ms"), nullable  # UTC by contract; Flink writes them naive
        avro_type = avro_type["type"]
    return getattr(pa, _ARROW_PRIMITIVES[str(avro_type)])(), nullable


def arrow_schema(avro_schema_json: str, *, partitions: bool = True) -> pa.Schema:
    """The Arrow schema of files following this Avro record (plus the hour partition fields)."""
    import pyarrow as pa

    fields = []
    for field in json.loads(avro_schema_json)["fields"]:
        kind, nullable = _arrow_type(field["type"])
        fields.append(pa.field(field["name"], kind, nullable))
    if partitions:
        fields += [pa.field(name, pa.int32()) for name in PARTITION_FIELDS]
    defaults = {
        f"default:{name}": json.dumps(value)
        for name, value in contract_defaults(avro_schema_json).items()
    }
    return pa.schema(fields, metadata=defaults or None)


def contract_defaults(avro_schema_json: str) -> dict[str, object]:
    """Non-null defaults of the schema's fields: what a file without the column means."""
    return {
        f["name"]: f["default"]
        for f in json.loads(avro_schema_json)["fields"]
        if "default" in f and f["default"] is not None
    }
