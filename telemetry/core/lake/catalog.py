"""The Iceberg catalog `telemetry`: pyiceberg's SQL catalog and Flink's JDBC catalog on one
database, with the tables created and evolved from the schema contracts.

The catalog database is PYICEBERG_CATALOG__TELEMETRY__URI (local: an SQLite
file in the data folder, in WAL mode with a busy timeout, since the job's
committer, its maintenance and readers share it; cluster: PostgreSQL). The
same variables configure pyiceberg itself, so after `eval "$(telemetry env)"`
`pyiceberg --catalog telemetry list` and `load_catalog("telemetry")` work with
no code of ours. Flink gets the same database through Iceberg's JdbcCatalog
(TELEMETRY_CATALOG_JDBC_URL) and S3FileIO, whose credentials come from the
AWS_* environment of its processes, never from the catalog's options.

A table follows its contract: submitting a job that writes a new schema
version adds the new optional columns in place (`union_by_name`); rows
written before read back as null. Columns are never dropped.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from telemetry.core.config import Settings
from telemetry.core.errors import StorageError
from telemetry.core.lake.tables import LakeTable
from telemetry.core.storage import arrow_trust

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table
    from pyiceberg.types import IcebergType

__all__ = [
    "CATALOG_NAME",
    "COMMITTED_BEFORE",
    "catalog_jdbc_url",
    "catalog_properties",
    "ensure_table",
    "flink_catalog_options",
    "iceberg_schema",
    "jdbc_url",
    "load",
    "load_table",
    "pyiceberg_env",
]

CATALOG_NAME = "telemetry"
# Table property the job keeps at "every window ending at or before T is committed"
# (ISO 8601, UTC): the signal for schedulers (dev.telemetry.flink.lake.CommittedWatermark).
COMMITTED_BEFORE = "telemetry.committed-before"
SQLITE_BUSY_TIMEOUT_MS = 30_000

# Properties of every table: Parquet with zstd, and old metadata files removed as
# commits arrive (a commit every checkpoint would otherwise keep each one forever).
TABLE_PROPERTIES = {
    "format-version": "2",
    "write.format.default": "parquet",
    "write.parquet.compression-codec": "zstd",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
}


def catalog_properties(settings: Settings) -> dict[str, str]:
    """pyiceberg's properties of the catalog (what PYICEBERG_CATALOG__TELEMETRY__* say)."""
    props = {
        "type": "sql",
        "uri": _sqlalchemy_uri(settings.lake.catalog_uri.reveal()),
        "warehouse": settings.lake.warehouse,
        "s3.region": settings.s3.region,
    }
    if settings.s3.endpoint_url:
        props["s3.endpoint"] = settings.s3.endpoint_url
    if settings.s3.addressing_style == "virtual":
        props["s3.force-virtual-addressing"] = "true"
    if settings.s3.access_key_id.reveal():
        props["s3.access-key-id"] = settings.s3.access_key_id.reveal()
        props["s3.secret-access-key"] = settings.s3.secret_access_key.reveal()
        if settings.s3.session_token.reveal():
            props["s3.session-token"] = settings.s3.session_token.reveal()
    return props


def pyiceberg_env(settings: Settings) -> dict[str, str]:
    """The same properties as pyiceberg's own environment variables, for `telemetry env`."""
    return {
        f"PYICEBERG_CATALOG__{CATALOG_NAME.upper()}__"
        + key.upper().replace(".", "__").replace("-", "_"): value
        for key, value in catalog_properties(settings).items()
    }


def _sqlalchemy_uri(uri: str) -> str:
    """SQLite waits for a busy database instead of failing at once (pysqlite's `timeout`)."""
    if uri.startswith("sqlite:") and "timeout=" not in uri:
        return uri + ("&" if "?" in uri else "?") + f"timeout={SQLITE_BUSY_TIMEOUT_MS // 1000}"
    return uri


def jdbc_url(uri: str) -> str:
    """The JDBC URL of the catalog database an SQLAlchemy URL names (as pyiceberg takes it).

    sqlite:///PATH -> jdbc:sqlite:PATH; postgresql[+driver]://USER[:PW]@HOST[:PORT]/DB?Q ->
    jdbc:postgresql://HOST[:PORT]/DB?user=USER[&password=PW]&Q (libpq's ssl* names are pgjdbc's).
    Takes and gives revealed text.
    """
    if uri.startswith("sqlite:///"):
        return "jdbc:sqlite:" + uri[len("sqlite:///") :].split("?", 1)[0]
    parts = urlsplit(uri)
    query = [f"user={parts.username}"] if parts.username else []
    if parts.password:
        query.append(f"password={parts.password}")
    if parts.query:
        query.append(parts.query)
    host = parts.hostname or "localhost"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return f"jdbc:postgresql://{netloc}{parts.path}" + ("?" + "&".join(query) if query else "")


def catalog_jdbc_url(settings: Settings) -> str:
    """The catalog database for the JVM: TELEMETRY_CATALOG_JDBC_URL, else the one
    PYICEBERG_CATALOG__TELEMETRY__URI names. Revealed: it may hold a password."""
    return settings.lake.catalog_jdbc_url.reveal() or jdbc_url(settings.lake.catalog_uri.reveal())


def flink_catalog_options(settings: Settings) -> dict[str, str]:
    """CREATE CATALOG options of the same catalog for Flink (no credentials in them)."""
    jdbc = catalog_jdbc_url(settings)
    options = {
        "type": "iceberg",
        "catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
        "uri": jdbc,
        # The tables pyiceberg's SQL catalog creates (no iceberg_type column).
        "jdbc.schema-version": "V0",
        "warehouse": settings.lake.warehouse,
        "io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        "client.region": settings.s3.region,
        "s3.path-style-access": str(settings.s3.addressing_style == "path").lower(),
    }
    if settings.s3.endpoint_url:
        options["s3.endpoint"] = settings.s3.endpoint_url
    if jdbc.startswith("jdbc:sqlite:"):
        options["jdbc.busy_timeout"] = str(SQLITE_BUSY_TIMEOUT_MS)
        options["jdbc.journal_mode"] = "WAL"
    return options


def _prepare_sqlite(uri: str) -> None:
    """Create the SQLite file's folder, and put the database in WAL mode (it persists)."""
    if not uri.startswith("sqlite:///"):
        return
    path = Path(uri[len("sqlite:///") :].split("?", 1)[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)) as db:
        db.execute("PRAGMA journal_mode=WAL")


@contextlib.contextmanager
def catalog_errors(settings: Settings, what: str) -> Iterator[None]:
    """pyiceberg's and the database's errors as one-line StorageErrors naming the fix."""
    # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    try:
        yield
    except (NoSuchTableError, NoSuchNamespaceError) as exc:
        raise StorageError(
            f"{what}: no such table in catalog {CATALOG_NAME} ({exc}); "
            "submit the job (`telemetry job submit`) or run `make run-pipeline`"
        ) from exc
    except OSError as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if any(s in text for s in ("ACCESS_DENIED", "InvalidAccessKeyId", "SignatureDoesNot")):
            raise StorageError(
                f"{what}: S3 at {settings.s3.endpoint_url} refused the credentials; "
                "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ) from exc
        raise StorageError(
            f"{what}: cannot reach the warehouse {settings.lake.warehouse}"
            f" ({text}); is S3 at {settings.s3.endpoint_url} up (`make up`)?"
        ) from exc
    except Exception as exc:
        if type(exc).__module__.startswith("sqlalchemy"):
            raise StorageError(
                f"{what}: the catalog database does not answer "
                f"({str(exc).splitlines()[0]}); check PYICEBERG_CATALOG__TELEMETRY__URI "
                "or start the stack with `make up`"
            ) from exc
        raise


def load(settings: Settings) -> SqlCatalog:
    """pyiceberg's catalog `telemetry` from the settings."""
    arrow_trust.trust(settings)  # before pyiceberg's FileIO imports pyarrow.fs
    # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
    from pyiceberg.catalog.sql import SqlCatalog

    props = catalog_properties(settings)
    _prepare_sqlite(settings.lake.catalog_uri.reveal())
    with catalog_errors(settings, f"catalog {CATALOG_NAME}"):
        return SqlCatalog(CATALOG_NAME, **{k: v for k, v in props.items() if k != "type"})


def load_table(settings: Settings, name: str, namespace: str | None = None) -> Table:
    """A table of the lake, e.g. `windows` (namespace: TELEMETRY_NAMESPACE)."""
    identifier = (namespace or settings.lake.namespace, name)
    with catalog_errors(settings, ".".join(identifier)):
        return load(settings).load_table(identifier)


def iceberg_schema(table: LakeTable) -> Schema:
    """The Iceberg schema of a table definition (field ids 1..n, in column order)."""
    # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
    from pyiceberg.schema import Schema
    from pyiceberg.types import NestedField

    return Schema(
        *(
            NestedField(
                field_id=i,
                name=c.name,
                field_type=_iceberg_type(c.sql_type),
                required=not c.nullable,
                doc=c.doc or None,
            )
            for i, c in enumerate(table.columns, start=1)
        )
    )


def _iceberg_type(sql_type: str) -> IcebergType:
    # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
    from pyiceberg import types

    mapping = {
        "INT": types.IntegerType(),
        "BIGINT": types.LongType(),
        "FLOAT": types.FloatType(),
        "DOUBLE": types.DoubleType(),
        "BOOLEAN": types.BooleanType(),
        "STRING": types.StringType(),
        "BYTES": types.BinaryType(),
        "TIMESTAMP(3)": types.TimestamptzType(),
    }
    return mapping[sql_type]


def ensure_table(settings: Settings, table: LakeTable, namespace: str | None = None) -> Table:
    """Create the table if missing, else add the columns `table` has and it lacks."""
    # late: after arrow_trust.trust(), as pyarrow takes its CA file at import
    from pyiceberg.exceptions import TableAlreadyExistsError
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import HourTransform

    catalog = load(settings)
    ns = namespace or settings.lake.namespace
    identifier = (ns, table.name)
    schema = iceberg_schema(table)
    with catalog_errors(settings, ".".join(identifier)):
        catalog.create_namespace_if_not_exists(ns)
        if not catalog.table_exists(identifier):
            source = schema.find_field(table.partition_source)
            spec = PartitionSpec(
                PartitionField(
                    source_id=source.field_id,
                    field_id=1000,
                    transform=HourTransform(),
                    name=f"{table.partition_source}_hour",
                )
            )
            with contextlib.suppress(TableAlreadyExistsError):  # made meanwhile: evolve it
                return catalog.create_table(
                    identifier, schema, partition_spec=spec, properties=TABLE_PROPERTIES
                )
        existing = catalog.load_table(identifier)
        missing = [c for c in table.column_names if c not in existing.schema().column_names]
        if missing:
            with existing.update_schema() as update:
                update.union_by_name(schema)
            existing = catalog.load_table(identifier)
        return existing
