"""The ledger of file replays: how much of which file is in which topic, for certain.

A replay writes its events in Kafka transactions; each transaction also
writes one ledger entry: the file's position after its events (how many of the
file's events are in the topic), keyed by the replay's id. A `read_committed`
reader sees an entry exactly when it sees the events before it, so the last
entry of a replay is where to continue, whatever the client heard back from
the broker (a message that timed out on the client may still have reached
it). The ledger is a compacted topic `<topic>.replays` (one partition); the
replay's id, derived from the file's resolved path and the topic, is both the
entry's key and (prefixed) the producer's `transactional.id`, so a new session
of the same replay fences the old one and aborts what it left open.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from telemetry.core.committed import read_committed
from telemetry.core.config import Settings
from telemetry.core.errors import InvalidInputError

__all__ = [
    "Entry",
    "file_fingerprint",
    "ledger_topic",
    "read_entry",
    "replay_id",
    "start_position",
    "transactional_id",
]

TOPIC_CONFIG = {"cleanup.policy": "compact"}


def ledger_topic(topic: str) -> str:
    return f"{topic}.replays"


def replay_id(path: Path, topic: str) -> str:
    """The replay of `path` to `topic`: the same file (however named) and topic, the same id."""
    identity = f"{path.resolve()}\0{topic}".encode()
    return hashlib.sha256(identity).hexdigest()[:24]


def transactional_id(replay: str) -> str:
    return f"telemetry-replay-{replay}"


def file_fingerprint(path: Path) -> str:
    """sha256 of the file's bytes: a resume continues only the file it started on."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise InvalidInputError(f"cannot read replay file {path}: {exc.strerror}") from exc
    return digest.hexdigest()


@dataclass(frozen=True)
class Entry:
    """One committed transaction of a replay: `position` of the file's `total` events are
    in the topic (the first `position`, in file order)."""

    file: str
    fingerprint: str
    position: int
    total: int
    at: str  # when it was committed, ISO 8601 UTC

    @property
    def complete(self) -> bool:
        return self.position >= self.total

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, value: bytes) -> Entry:
        fields = json.loads(value)
        return cls(
            file=str(fields["file"]),
            fingerprint=str(fields["fingerprint"]),
            position=int(fields["position"]),
            total=int(fields["total"]),
            at=str(fields["at"]),
        )


def read_entry(settings: Settings, topic: str, replay: str) -> Entry | None:
    """The last committed entry of `replay` in the ledger of `topic`, if any. Call it after
    `init_transactions()` of the replay's producer: an open transaction of an earlier
    session is aborted by then, so the entry is final."""
    key = replay.encode()
    entries = [
        r.value
        for r in read_committed(settings, ledger_topic(topic), group="telemetry-replay-ledger")
        if r.key == key and r.value
    ]
    return Entry.decode(entries[-1]) if entries else None


def start_position(
    entry: Entry | None,
    *,
    path: Path,
    topic: str,
    fingerprint: str,
    total: int,
    resume: bool,
    restart: bool,
) -> int:
    """Where in the file a replay starts: the ledger's position with `resume`, 0 otherwise;
    a replay that would send a partly sent file again, or resume another file, is refused."""
    if resume and restart:
        raise InvalidInputError("--resume and --restart exclude each other; choose one")
    if entry is None or restart:
        return 0
    if resume:
        if entry.fingerprint != fingerprint:
            raise InvalidInputError(
                f"{path} changed since its replay to {topic} stopped at event {entry.position:,} "
                f"of {entry.total:,} ({entry.at}); replay it with --restart to send all of it "
                "again"
            )
        return min(entry.position, total)
    if not entry.complete:
        raise InvalidInputError(
            f"{path} was partly replayed to {topic} ({entry.position:,} of {entry.total:,} "
            f"events, {entry.at}); continue with --resume, or send all of it again with "
            "--restart"
        )
    return 0
