"""Events in columns: a block of telemetry samples as one numpy array per field.

The simulation makes whole blocks at once and the fast serializer encodes a
block without touching each event in Python; `events()` turns a block back
into `TelemetryEvent`s for the per-event paths (pacing, the stock serializer,
tests). A block made from events keeps them, so nothing is rebuilt.

An optional (v2) field that is not reported has its entry set in
`nulls[name]`; the column's value there is meaningless.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol, runtime_checkable

import numpy as np

from producer.events import ALL_FIELDS, V1_FIELDS, TelemetryEvent

__all__ = ["COLUMN_DTYPES", "DEFAULT_BLOCK_SIZE", "BlockSource", "EventBlock", "as_blocks"]

# What each field is stored as (a numpy dtype); every value a TelemetryEvent holds round-trips.
COLUMN_DTYPES: Mapping[str, str] = {
    "car_id": "int64",
    "speed": "float64",
    "rpm": "int64",
    "gear": "int64",
    "timestamp": "float64",
    "throttle": "float64",
    "brake": "float64",
    "drs": "bool",
    "lap": "int64",
}
OPTIONAL_FIELDS: tuple[str, ...] = tuple(n for n in ALL_FIELDS if n not in V1_FIELDS)
DEFAULT_BLOCK_SIZE = 8192  # events per block made from a plain iterable of events


@dataclass
class EventBlock:
    """`len(block)` events; `columns[name][i]` is field `name` of event i."""

    columns: dict[str, np.ndarray]
    nulls: dict[str, np.ndarray] = field(default_factory=dict)
    _events: list[TelemetryEvent] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        lengths = {len(c) for c in self.columns.values()} | {len(m) for m in self.nulls.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of one block differ in length: {sorted(lengths)}")
        missing = [n for n in ALL_FIELDS if n not in self.columns]
        if missing:
            raise ValueError(f"a block needs every field; missing {missing}")

    def __len__(self) -> int:
        return len(self.columns["car_id"])

    @classmethod
    def from_events(cls, events: Iterable[TelemetryEvent]) -> EventBlock:
        """A block holding `events` (kept as they are, for `events()`)."""

        kept = list(events)
        columns: dict[str, np.ndarray] = {}
        nulls: dict[str, np.ndarray] = {}
        for name in ALL_FIELDS:
            values = [getattr(e, name) for e in kept]
            if name in OPTIONAL_FIELDS:
                missing = np.fromiter((v is None for v in values), bool, len(values))
                if missing.any():
                    nulls[name] = missing
                    values = [0 if v is None else v for v in values]
            columns[name] = np.array(values, dtype=COLUMN_DTYPES[name])
        return cls(columns, nulls, kept)

    def events(self) -> list[TelemetryEvent]:
        """The block's events, in order (built once, from the columns, if need be)."""
        if self._events is None:
            self._events = [TelemetryEvent(*row) for row in self.rows(ALL_FIELDS)]
        return self._events

    def rows(self, names: Iterable[str]) -> list[tuple[Any, ...]]:
        """Per event, the values of fields `names` as Python objects (None when not reported)."""
        lists = []
        for name in names:
            values = self.columns[name].tolist()
            missing = self.nulls.get(name)
            if missing is not None:
                values = [None if m else v for v, m in zip(values, missing.tolist(), strict=True)]
            lists.append(values)
        return list(zip(*lists, strict=True))

    def head(self, count: int) -> EventBlock:
        """The first `count` events."""
        if count >= len(self):
            return self
        return EventBlock(
            {n: c[:count] for n, c in self.columns.items()},
            {n: m[:count] for n, m in self.nulls.items()},
            None if self._events is None else self._events[:count],
        )


@runtime_checkable
class BlockSource(Protocol):
    """Something that makes events block by block (the simulation)."""

    def blocks(self) -> Iterator[EventBlock]: ...


def as_blocks(
    source: BlockSource | Iterable[TelemetryEvent], size: int = DEFAULT_BLOCK_SIZE
) -> Iterator[EventBlock]:
    """Blocks of `source`: its own when it makes blocks, else its events `size` at a time."""
    if isinstance(source, BlockSource):
        yield from source.blocks()
        return
    events = iter(source)
    while chunk := list(islice(events, size)):
        yield EventBlock.from_events(chunk)
