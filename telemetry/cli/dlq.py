"""`telemetry dlq show|replay`: dead letters, and replaying them once their cause is fixed."""

from __future__ import annotations

import argparse

from telemetry.cli.output import FORMATS, emit
from telemetry.core.config import load_settings
from telemetry.core.dlq.headers import REASONS
from telemetry.core.dlq.letters import read_letters, select
from telemetry.core.dlq.redrive import replay

COLUMNS = [
    "dlq_position",
    "reason",
    "source_topic",
    "source_partition",
    "source_offset",
    "schema_id",
    "bytes",
    "message",
]


def register(subparsers: argparse._SubParsersAction) -> None:
    dlq = subparsers.add_parser(
        "dlq",
        help="list dead letters, or replay them to the source topic",
        description="Records the job could not decode are kept in TELEMETRY_DLQ_TOPIC with the "
        "reason, their source position and schema id (Kafka Connect's __connect.errors.* headers).",
    )
    commands = dlq.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)

    def selection(p: argparse.ArgumentParser) -> None:
        p.add_argument("--topic", help="dead-letter topic (default TELEMETRY_DLQ_TOPIC)")
        p.add_argument(
            "--reason",
            action="append",
            default=[],
            metavar="CODE",
            help=f"only this reason (repeatable): {', '.join(REASONS)}",
        )
        p.add_argument(
            "--at",
            action="append",
            default=[],
            metavar="P:O[-O2]",
            help="only letters at these dead-letter positions (repeatable), e.g. 0:17 or 2:5-9",
        )

    p = commands.add_parser("show", help="list dead letters: reason, source position, schema id")
    selection(p)
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--limit", type=int, default=100, help="rows in a table (default 100; 0: all)")
    p.set_defaults(func=_show)

    p = commands.add_parser(
        "replay",
        help="re-produce selected dead letters to their source topic, exactly once",
        description="Replay dead letters that decode now (e.g. their schema was registered "
        "late) to the topic they came from, each exactly once: a ledger topic "
        "(<dlq>.replayed) written in the same transaction remembers what was replayed. "
        "Letters that still do not decode stay where they are.",
    )
    selection(p)
    p.add_argument("--dry-run", action="store_true", help="say what would be replayed, do nothing")
    p.set_defaults(func=_replay)


def _letters(args: argparse.Namespace):
    settings = load_settings()
    topic = args.topic or settings.topics.dlq_topic
    return settings, topic, select(read_letters(settings, topic), args.reason, args.at)


def _show(args: argparse.Namespace) -> int:
    _settings, topic, letters = _letters(args)
    rows = [letter.as_row() for letter in letters]
    if args.format == "json":
        emit(rows, COLUMNS, "json")
        return 0
    shown = rows if args.limit == 0 else rows[: args.limit]
    for row in shown:
        row["message"] = str(row["message"] or "")[:80]
    emit(shown, COLUMNS, "table")
    more = f" (first {len(shown)}; --limit 0 for all)" if len(shown) < len(rows) else ""
    print(f"{len(rows)} dead letters in {topic}{more}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    settings, topic, letters = _letters(args)
    report = replay(
        settings,
        topic,
        letters,
        default_topic=settings.topics.topic,
        dry_run=args.dry_run,
        say=print,
    )
    verb = "would replay" if args.dry_run else "replayed"
    targets = f" to {', '.join(sorted(report.target_topics))}" if report.target_topics else ""
    print(
        f"{verb} {report.replayed} of {report.selected} selected dead letters{targets}; "
        f"{report.already_replayed} were replayed before"
    )
    for problem, count in sorted(report.still_undecodable.items()):
        print(f"  {count} still undecodable: {problem}")
    return 0
