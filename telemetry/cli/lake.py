"""`telemetry lake`: the Iceberg tables: where they are, and adding a previous lake to them."""

from __future__ import annotations

import argparse

from telemetry.core.config import load_settings
from telemetry.core.lake.catalog import load_table
from telemetry.core.lake.migrate import migrate
from telemetry.core.lake.tables import TABLES
from telemetry.core.storage.parquet import s3_filesystem

EXAMPLES = """\
examples:
  telemetry lake tables                      # the tables, their snapshot and files
  telemetry lake migrate --dry-run           # what a migration of the old layout would add
  telemetry lake migrate --prefix telemetry  # add s3://TELEMETRY_BUCKET/telemetry(-late)/...
exit codes: 0 ok, 1 failed, 2 bad input."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lake",
        help="the Iceberg tables: list them, migrate a previous Parquet lake into them",
        description="The lake's Iceberg tables in the catalog `telemetry` "
        "(TELEMETRY_NAMESPACE.windows, .late_events).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="lake_command", metavar="COMMAND", required=True)
    tables = commands.add_parser("tables", help="each table: location, snapshot, data files")
    tables.add_argument("--namespace", help="Iceberg namespace (default TELEMETRY_NAMESPACE)")
    tables.set_defaults(func=_tables)
    migrate = commands.add_parser(
        "migrate",
        help="add a previous version's lake (Parquet under PREFIX) to the tables, once",
        description="Register the Parquet files of the previous lake layout "
        "(s3://TELEMETRY_BUCKET/PREFIX/year=/month=/day=/hour=/ and PREFIX-late) with the "
        "Iceberg tables, without copying them (pyiceberg's add_files). A closed hour's "
        "_MANIFEST.json decides its files, so an hour caught mid-compaction is not added "
        "twice; files the table already holds are skipped, so it is safe to run again.",
    )
    migrate.add_argument("--prefix", default="telemetry", help="the old lake's key prefix")
    migrate.add_argument("--namespace", help="Iceberg namespace (default TELEMETRY_NAMESPACE)")
    migrate.add_argument("--dry-run", action="store_true", help="say what would be added")
    migrate.set_defaults(func=_migrate)


def _tables(args: argparse.Namespace) -> int:
    settings = load_settings()
    namespace = args.namespace or settings.lake.namespace
    for name in TABLES:
        table = load_table(settings, name, namespace)
        snapshot = table.current_snapshot()
        files = table.inspect.files().num_rows
        print(
            f"{namespace}.{name}: {table.location()}, snapshot "
            f"{snapshot.snapshot_id if snapshot else '-'}, {files} data files, "
            f"{len(table.snapshots())} snapshots kept"
        )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = load_settings()
    base = f"{settings.lake.bucket}/{args.prefix.strip('/')}"
    report = migrate(
        settings, s3_filesystem(settings), base, namespace=args.namespace, dry_run=args.dry_run
    )
    verb = "would add" if args.dry_run else "added"
    print(", ".join(f"{verb} {n} files to {t}" for t, n in report.added.items()))
    return 0
