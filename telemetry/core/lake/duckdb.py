"""DuckDB on the lake: a connection that reads the Iceberg tables with `iceberg_scan`.

DuckDB reads a table from its current metadata file, which only the catalog
knows (the Flink job commits every checkpoint), so `metadata_location` asks
pyiceberg's catalog for it; `connect(tables=...)` also makes views of the
tables as they are at that moment (one snapshot each, like `read_windows`).

The extensions (httpfs, avro, iceberg) come from the PyPI packages
duckdb-ext-httpfs, duckdb-ext-avro and duckdb-ext-iceberg, whose files hold
them in DuckDB's own extension-directory layout. DuckDB never downloads
one: `extension_directory` names that folder and autoinstalling is off, so
a missing or mismatched package is an error that names the packages to install.

    >>> from telemetry.core.config import load_settings
    >>> from telemetry.core.lake.duckdb import connect
    >>> con = connect(load_settings(), tables=["windows"])
    >>> con.sql("SELECT car_id, max(max_speed) FROM windows GROUP BY car_id").fetchall()

S3 access comes from the settings as a temporary DuckDB secret (endpoint,
keys, region, path or virtual-host addressing, SSL and S3_CA_LOCATION).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import duckdb

from telemetry.core.config import Settings
from telemetry.core.errors import StorageError
from telemetry.core.lake.catalog import load_table
from telemetry.core.lake.tables import TABLES, WINDOWS

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "EXTENSIONS",
    "EXTENSION_PACKAGES",
    "connect",
    "extension_directory",
    "metadata_location",
    "s3_secret_sql",
]

# Loaded in this order: iceberg reads its manifests with avro and its files through httpfs.
EXTENSIONS = ("httpfs", "avro", "iceberg")
EXTENSION_PACKAGES = tuple(f"duckdb-ext-{name}" for name in EXTENSIONS)
SECRET_NAME = "telemetry_lake"


def extension_directory() -> Path:
    """The `duckdb_ext/extensions` folder the duckdb-ext-* packages installed their files in.

    It holds <duckdb version>/<platform>/<name>.duckdb_extension, DuckDB's own layout.
    """
    found: set[Path] = set()
    for package in EXTENSION_PACKAGES:
        try:
            files = importlib.metadata.files(package) or []
        except importlib.metadata.PackageNotFoundError:
            raise StorageError(_missing(f"package {package} is not installed")) from None
        for file in files:
            if file.name.endswith(".duckdb_extension"):
                path = Path(str(file.locate()))
                found.add(path.parents[2])  # extensions/<version>/<platform>/<file>
    if len(found) != 1:
        raise StorageError(
            _missing(f"the extension files are in {len(found)} folders ({sorted(found)})")
        )
    return found.pop()


def metadata_location(
    settings: Settings, table: str = WINDOWS, namespace: str | None = None
) -> str:
    """The current metadata file of `namespace.table`, what `iceberg_scan` reads."""
    return load_table(settings, table, namespace).metadata_location


def connect(
    settings: Settings,
    *,
    tables: Sequence[str] = (),
    namespace: str | None = None,
    database: str = ":memory:",
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with httpfs, avro and iceberg loaded and S3 configured.

    Each of `tables` (`windows`, `laps`, `late_events`) becomes a view of that name over
    `iceberg_scan` of its current snapshot in `namespace` (TELEMETRY_NAMESPACE).
    Times are shown in UTC. Raises StorageError.
    """

    directory = extension_directory()
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise StorageError(f"unknown table {', '.join(unknown)}; one of {', '.join(TABLES)}")
    con = duckdb.connect(
        database,
        config={
            "extension_directory": str(directory),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    try:
        for name in EXTENSIONS:
            try:
                con.execute(f"LOAD {name}")
            except duckdb.Error as exc:
                raise StorageError(
                    _missing(
                        f"DuckDB {duckdb.__version__} cannot load {name} from {directory} "
                        f"({str(exc).splitlines()[0]})"
                    )
                ) from exc
        con.execute("SET TimeZone = 'UTC'")
        if settings.s3.ca_location:
            con.execute(
                f"SET ca_cert_file = {_literal(str(Path(settings.s3.ca_location).expanduser()))}"
            )
            con.execute("SET enable_server_cert_verification = true")
        con.execute(s3_secret_sql(settings))
        for table in tables:
            location = metadata_location(settings, table, namespace)
            con.execute(
                f"CREATE OR REPLACE TEMPORARY VIEW {table} AS "
                f"SELECT * FROM iceberg_scan({_literal(location)})"
            )
    except BaseException:
        con.close()
        raise
    return con


def s3_secret_sql(settings: Settings) -> str:
    """CREATE SECRET for the lake's S3 (MinIO locally) from the settings."""
    key = settings.s3.access_key_id.reveal()
    if not key:
        raise StorageError(
            "DuckDB needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the AWS credential "
            "chain needs DuckDB's aws extension, which is not installed"
        )
    options = {
        "TYPE": "s3",
        "KEY_ID": key,
        "SECRET": settings.s3.secret_access_key.reveal(),
        "REGION": settings.s3.region,
        "URL_STYLE": "vhost" if settings.s3.addressing_style == "virtual" else "path",
    }
    if settings.s3.session_token.reveal():
        options["SESSION_TOKEN"] = settings.s3.session_token.reveal()
    if settings.s3.endpoint_url:
        endpoint = urlsplit(settings.s3.endpoint_url)
        options["ENDPOINT"] = endpoint.netloc + endpoint.path.rstrip("/")
        options["USE_SSL"] = "true" if endpoint.scheme == "https" else "false"
    body = ", ".join(
        f"{name} {value if name in ('TYPE', 'USE_SSL') else _literal(value)}"
        for name, value in options.items()
    )
    return f"CREATE OR REPLACE TEMPORARY SECRET {SECRET_NAME} ({body})"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _missing(why: str) -> str:
    return (
        f"DuckDB's lake extensions: {why}; install the dev extras "
        f"(`pip install -e '.[dev]'`: duckdb and {', '.join(EXTENSION_PACKAGES)} of one version)"
    )
