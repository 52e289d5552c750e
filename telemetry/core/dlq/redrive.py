"""Replay dead letters to their source topic, each exactly once.

Each replayed record (original key, value and headers, plus
`telemetry.replayed.from`) and an entry in the replay ledger (a compacted
topic `<dead-letter topic>.replayed`, key `<partition>:<offset>`) are written in
one Kafka transaction. The ledger is read only after `init_transactions()`,
which fences any other replay of the same topic and aborts what it left open,
so a letter in the ledger was replayed and one not in it was not: a crash or a
second run can never replay a letter twice. The job reads with
`read_committed`, so it sees a replayed record only once its transaction
commits. Letters that still do not decode are left where they are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from confluent_kafka import KafkaException, Producer

from telemetry.core.committed import read_committed
from telemetry.core.config import Settings
from telemetry.core.dlq.headers import REPLAYED_FROM
from telemetry.core.dlq.letters import DeadLetter, Decodability
from telemetry.core.errors import ServiceError
from telemetry.core.kafka_config import client_logger, librdkafka_config
from telemetry.core.progress import Say, silent
from telemetry.core.topics import ensure_topics

__all__ = ["ReplayReport", "ledger_topic", "replay", "replayed_positions"]

BATCH = 500


def ledger_topic(dlq_topic: str) -> str:
    return f"{dlq_topic}.replayed"


@dataclass
class ReplayReport:
    selected: int = 0
    replayed: int = 0
    already_replayed: int = 0
    still_undecodable: dict[str, int] = field(default_factory=dict)  # problem -> letters
    target_topics: set[str] = field(default_factory=set)


def replayed_positions(settings: Settings, dlq_topic: str) -> set[str]:
    """`P:O` of every letter the ledger says was replayed (committed transactions only)."""
    records = read_committed(settings, ledger_topic(dlq_topic), group="telemetry-dlq-reader")
    return {record.key.decode() for record in records if record.key is not None}


def replay(
    settings: Settings,
    dlq_topic: str,
    letters: Sequence[DeadLetter],
    *,
    default_topic: str,
    dry_run: bool = False,
    say: Say = silent,
) -> ReplayReport:
    """Re-produce the decodable ones of `letters` to their source topic, exactly once."""

    report = ReplayReport(selected=len(letters))
    ledger = ledger_topic(dlq_topic)
    ensure_topics(settings, [ledger], partitions=1, config={"cleanup.policy": "compact"})
    quiet = client_logger("telemetry.core.dlq.redrive.librdkafka")
    producer = Producer(
        librdkafka_config(
            settings,
            **{
                "transactional.id": f"telemetry-dlq-replay-{dlq_topic}",
                "enable.idempotence": True,
                "acks": "all",
            },
        ),
        logger=quiet,
    )
    try:
        producer.init_transactions(30)  # fences any other replay of this topic first
        done = replayed_positions(settings, dlq_topic)
        decodable = Decodability(settings)
        todo: list[DeadLetter] = []
        for letter in letters:
            if letter.position in done:
                report.already_replayed += 1
                continue
            problem = decodable.problem(letter.value)
            if problem is not None:
                report.still_undecodable[problem] = report.still_undecodable.get(problem, 0) + 1
                continue
            todo.append(letter)
        if dry_run:
            report.replayed = len(todo)
            return report
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            producer.begin_transaction()
            for letter in batch:
                topic = letter.source[0] or default_topic
                report.target_topics.add(topic)
                origin = f"{dlq_topic}/{letter.partition}/{letter.offset}".encode()
                producer.produce(
                    topic,
                    key=letter.key,
                    value=letter.value,
                    headers=[*letter.headers, (REPLAYED_FROM, origin)],
                )
                producer.produce(
                    ledger,
                    key=letter.position.encode(),
                    value=json.dumps({"to": topic, "at": datetime.now(UTC).isoformat()}).encode(),
                )
            producer.commit_transaction(60)
            report.replayed += len(batch)
            say(f"  replayed {report.replayed} of {len(todo)}")
    except KafkaException as exc:
        raise ServiceError(
            f"replaying dead letters of {dlq_topic} failed ({exc}); nothing of the failed batch "
            "was replayed (its transaction was aborted); run the replay again"
        ) from exc
    return report
