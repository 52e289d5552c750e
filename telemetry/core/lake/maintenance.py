"""Iceberg's own maintenance of the lake's tables, run inside the job that writes them.

The job adds Iceberg's TableMaintenance tasks for each table it writes
(dev.telemetry.flink.lake.LakeMaintenance, which says why not through the sink's
`flink-maintenance.*` options: Iceberg 1.11 then builds operators whose close
takes a TaskManager down in a failover). The tasks of a table take a lock in the
catalog database (Iceberg's JDBC lock, one row per table): the lock Flink would
keep itself lives in static fields of the JobManager, shared by every job and
table there, and fails jobs with a ConcurrentModificationException once two
tables are maintained (Iceberg 1.11, BaseCoordinator.registerLock).

    rewrite data files  every 10 commits (with 5 s checkpoints: about a minute), a
                        partition's small files are merged into one; an hour then
                        holds about 10 files at most, 1 once it is closed
    expire snapshots    every 10 commits: snapshots older than 10 minutes go, the
                        last 10 always stay, with the files only they referenced
    delete orphan files once an hour: files under the table no snapshot knows and
                        older than a day (left by commits that failed)

`SCHEDULE` holds these numbers; LakeMaintenance declares the same (a unit test
binds them).

A reader scans one snapshot: a rewrite replaces files in one atomic commit, so
no reader sees a row twice or misses one. Snapshots live 10 minutes, so a scan
planned up to then still finds its files.

The lock table is created at submission (`ensure_lock_table`), not by the tasks:
each table's lock users open it at once and, on a catalog database that lacks
it, all find it missing and all CREATE it; on PostgreSQL all but one then fail
the job ("relation flink_maintenance_lock already exists").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from telemetry.core.config import Settings
from telemetry.core.lake.catalog import (
    SQLITE_BUSY_TIMEOUT_MS,
    catalog_errors,
    catalog_jdbc_url,
    load,
)

__all__ = [
    "LOCK_TABLE",
    "SCHEDULE",
    "MaintenanceLock",
    "Schedule",
    "ensure_lock_table",
    "maintenance_lock",
]


@dataclass(frozen=True)
class Schedule:
    """When Iceberg's maintenance tasks run on a table, and what they keep."""

    commits: int  # data files are rewritten and snapshots expired every this many commits
    rate_limit: timedelta  # the table's snapshots are looked at no more often than this
    snapshot_age: timedelta  # expiry removes snapshots older than this ...
    retain_last: int  # ... but always keeps this many
    orphan_interval: timedelta  # files no snapshot knows are looked for this often ...
    orphan_age: timedelta  # ... and deleted once older than this


SCHEDULE = Schedule(
    commits=10,
    rate_limit=timedelta(seconds=60),
    snapshot_age=timedelta(minutes=10),
    retain_last=10,
    orphan_interval=timedelta(hours=1),
    orphan_age=timedelta(days=1),
)

# Iceberg's JdbcLockFactory: its table, created as Iceberg 1.11 would (columns and key).
LOCK_TABLE = "flink_maintenance_lock"
_CREATE_LOCK_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {LOCK_TABLE} (LOCK_TYPE CHAR(1) NOT NULL, "
    "LOCK_ID VARCHAR(100) NOT NULL, INSTANCE_ID CHAR(36) NOT NULL, "
    "PRIMARY KEY (LOCK_TYPE, LOCK_ID))"
)


@dataclass(frozen=True)
class MaintenanceLock:
    """Where the maintenance tasks take their lock: the catalog database, over JDBC."""

    jdbc_url: str
    properties: dict[str, str]  # connection properties, `jdbc.` prefixed (Iceberg's JdbcClientPool)


def maintenance_lock(settings: Settings) -> MaintenanceLock:
    """The lock of every table's maintenance: a row in the catalog database."""
    jdbc = catalog_jdbc_url(settings)
    properties = {}
    if jdbc.startswith("jdbc:sqlite:"):
        properties["jdbc.busy_timeout"] = str(SQLITE_BUSY_TIMEOUT_MS)
    return MaintenanceLock(jdbc, properties)


def ensure_lock_table(settings: Settings) -> None:
    """Create the maintenance's lock table in the catalog database if it is missing."""
    # late: sqlalchemy is heavy to import and only this path needs it
    import sqlalchemy

    engine = load(settings).engine
    with catalog_errors(settings, f"the maintenance lock table {LOCK_TABLE}"):
        try:
            with engine.begin() as db:
                db.exec_driver_sql(_CREATE_LOCK_TABLE)
        except sqlalchemy.exc.DBAPIError:  # another submission created it meanwhile
            if not sqlalchemy.inspect(engine).has_table(LOCK_TABLE):
                raise
