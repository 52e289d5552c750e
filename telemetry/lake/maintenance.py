"""Iceberg's own maintenance of the lake's tables, run inside the job after its commits.

The job writes through Iceberg's Flink sink (v2), whose post-commit topology
runs Iceberg's TableMaintenance tasks. The tasks of a table take a lock in the
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

A reader scans one snapshot: a rewrite replaces files in one atomic commit, so
no reader sees a row twice or misses one. Snapshots live 10 minutes, so a scan
planned up to then still finds its files.

The lock table is created at submission (`ensure_lock_table`), not by the tasks:
each table's lock users open it at once and, on a catalog database that lacks
it, all find it missing and all CREATE it; on PostgreSQL all but one then fail
the job ("relation flink_maintenance_lock already exists").
"""

from __future__ import annotations

from telemetry.config import Settings
from telemetry.lake.catalog import SQLITE_BUSY_TIMEOUT_MS, catalog_errors, load

__all__ = ["LOCK_TABLE", "MAINTENANCE_OPTIONS", "ensure_lock_table", "maintenance_options"]

# Iceberg's JdbcLockFactory: its table, created as Iceberg 1.11 would (columns and key).
LOCK_TABLE = "flink_maintenance_lock"
_CREATE_LOCK_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {LOCK_TABLE} (LOCK_TYPE CHAR(1) NOT NULL, "
    "LOCK_ID VARCHAR(100) NOT NULL, INSTANCE_ID CHAR(36) NOT NULL, "
    "PRIMARY KEY (LOCK_TYPE, LOCK_ID))"
)

_PREFIX = "flink-maintenance."
MAINTENANCE_OPTIONS: dict[str, str] = {
    f"{_PREFIX}rewrite.enabled": "true",
    f"{_PREFIX}rewrite.schedule.commit-count": "10",
    f"{_PREFIX}rewrite.min-input-files": "2",
    f"{_PREFIX}expire-snapshots.enabled": "true",
    f"{_PREFIX}expire-snapshots.schedule.commit-count": "10",
    f"{_PREFIX}expire-snapshots.max-snapshot-age-seconds": "600",
    f"{_PREFIX}expire-snapshots.retain-last": "10",
    f"{_PREFIX}delete-orphan-files.enabled": "true",
    f"{_PREFIX}delete-orphan-files.schedule.interval-second": "3600",
    f"{_PREFIX}delete-orphan-files.min-age-seconds": "86400",
    # At most one task a minute per table, whatever triggered it.
    f"{_PREFIX}rate-limit-seconds": "60",
}


def maintenance_options(settings: Settings) -> dict[str, str]:
    """The sink options of every table: the schedule above and the lock in the catalog."""
    jdbc = settings.telemetry_catalog_jdbc_url.reveal()
    lock = {
        f"{_PREFIX}lock.type": "jdbc",
        f"{_PREFIX}lock.jdbc.uri": jdbc,
        f"{_PREFIX}lock.jdbc.init-lock-table": "true",
    }
    if jdbc.startswith("jdbc:sqlite:"):
        lock[f"{_PREFIX}lock.jdbc.busy_timeout"] = str(SQLITE_BUSY_TIMEOUT_MS)
    return {**MAINTENANCE_OPTIONS, **lock}


def ensure_lock_table(settings: Settings) -> None:
    """Create the maintenance's lock table in the catalog database if it is missing."""
    import sqlalchemy

    engine = load(settings).engine
    with catalog_errors(settings, f"the maintenance lock table {LOCK_TABLE}"):
        try:
            with engine.begin() as db:
                db.exec_driver_sql(_CREATE_LOCK_TABLE)
        except sqlalchemy.exc.DBAPIError:  # another submission created it meanwhile
            if not sqlalchemy.inspect(engine).has_table(LOCK_TABLE):
                raise
