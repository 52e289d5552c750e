"""Out-of-order delivery: late samples held back, released block by block.

The rule, as a per-event loop would apply it: before sample j goes out, every
held sample whose release time is at or before `times[j]` goes out (earliest
release first, ties in sampling order); then sample j goes out, or is held
until `times[j] + delay[j]` if it is late. `LateRelease` applies that rule to
whole blocks with numpy; held samples wait across blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["LateRelease"]


@dataclass(frozen=True)
class _Held:
    """Samples held back: when each may go out, its sequence number, and its fields."""

    release: np.ndarray
    seq: np.ndarray
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.release)

    def extend(self, other: _Held) -> _Held:
        if not len(self):
            return other
        return _Held(
            np.concatenate([self.release, other.release]),
            np.concatenate([self.seq, other.seq]),
            {n: np.concatenate([c, other.columns[n]]) for n, c in self.columns.items()},
        )

    def select(self, mask: np.ndarray) -> _Held:
        return _Held(
            self.release[mask], self.seq[mask], {n: c[mask] for n, c in self.columns.items()}
        )


class LateRelease:
    """Call it with each block of samples, in sampling order; it returns the samples that
    go out, in the order they go out. The held ones are `held` (never released if the
    stream ends first)."""

    def __init__(self) -> None:
        self._held: _Held | None = None
        self._sampled = 0  # samples seen so far: the sequence number of the next one

    @property
    def held(self) -> int:
        return len(self._held) if self._held is not None else 0

    def __call__(
        self,
        columns: Mapping[str, np.ndarray],
        times: np.ndarray,
        late: np.ndarray,
        delays: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """`columns` of the block's samples, `times` their event times (the ones compared
        with release times), `late` which are held back, by `delays` seconds."""

        count = len(times)
        first = self._sampled
        self._sampled += count
        if not late.any() and not self.held:
            return dict(columns)

        late_at = np.flatnonzero(late)
        release = times[late_at] + delays[late_at]
        newest = np.maximum.accumulate(times)
        # Where each goes out: before the first sample at or past its release time. For
        # a late one of this block only samples after it count; searching the running
        # maximum finds the first overall, which is later unless the delay is under the
        # jitter (then look past the held sample itself).
        out_at = np.searchsorted(newest, release, side="left")
        for i in np.flatnonzero(out_at <= late_at).tolist():
            after = np.flatnonzero(times[late_at[i] + 1 :] >= release[i])
            out_at[i] = late_at[i] + 1 + after[0] if len(after) else count
        new = _Held(release, first + late_at, {n: c[late_at] for n, c in columns.items()})
        if self._held is not None:
            carried_at = np.searchsorted(newest, self._held.release, side="left")
            held, position = self._held.extend(new), np.concatenate([carried_at, out_at])
        else:
            held, position = new, out_at
        going = position < count
        self._held = held.select(~going)
        released = held.select(going)

        on_time = np.flatnonzero(~late)
        order = np.lexsort(
            (
                np.concatenate([released.seq, first + on_time]),
                np.concatenate([released.release, np.zeros(len(on_time))]),
                # at the same place, held samples go out before the sample there
                np.concatenate([np.zeros(len(released)), np.ones(len(on_time))]),
                np.concatenate([position[going], on_time]),
            )
        )
        return {
            name: np.concatenate([released.columns[name], column[on_time]])[order]
            for name, column in columns.items()
        }
