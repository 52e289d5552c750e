"""The timing tower: race order, last and best laps, gaps to the leader.

Order: laps completed (the highest lap number a car has completed: the car's
own count, so a feed that starts mid-race still counts right), more first;
then the time that lap was completed (`lap_end`), earlier first; then the
car number, so the order is total. Cars seen only in windows so far (no lap
completed) follow, by car number.

Gap to the leader: on the same lap count, the difference of the two cars'
`lap_end` at that lap (+1.234); on fewer laps, the laps behind (+2 L).
The overall best lap is the fastest lap time of any car; on a tie, the one
set first holds it, as on a real timing screen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from telemetry.ops.live.display import MISSING, gap, lap_time, laps_down
from telemetry.ops.live.records import Lap

__all__ = ["LEADER", "TimingTower", "TowerRow"]

LEADER = "Leader"


@dataclass(frozen=True)
class TowerRow:
    """One line of the tower."""

    position: int
    car_id: int
    laps: int
    last_lap_ms: int | None
    best_lap_ms: int | None
    gap: str
    overall_best: bool  # this car holds the fastest lap of the session

    def cells(self) -> dict[str, object]:
        """What the page shows, as JSON-ready values."""
        return {
            "position": self.position,
            "car_id": self.car_id,
            "laps": self.laps,
            "last_lap": MISSING if self.last_lap_ms is None else lap_time(self.last_lap_ms),
            "best_lap": MISSING if self.best_lap_ms is None else lap_time(self.best_lap_ms),
            "gap": self.gap,
            "overall_best": self.overall_best,
        }


class TimingTower:
    """Completed laps per car; `rows()` is the tower they make."""

    def __init__(self, laps: Iterable[Lap] = ()) -> None:
        self._laps: dict[int, dict[int, Lap]] = {}
        for lap in laps:
            self.add(lap)

    def add(self, lap: Lap) -> bool:
        """Take one completed lap; False if that car's lap was already known (a re-read)."""
        laps = self._laps.setdefault(lap.car_id, {})
        if lap.lap in laps:
            return False
        laps[lap.lap] = lap
        return True

    def add_car(self, car_id: int) -> bool:
        """A car seen before its first completed lap; True if it was new."""
        if car_id in self._laps:
            return False
        self._laps[car_id] = {}
        return True

    def cars(self) -> set[int]:
        return set(self._laps)

    def overall_best(self) -> Lap | None:
        """The fastest lap of any car (on a tie, the one completed first)."""
        every = [lap for laps in self._laps.values() for lap in laps.values()]
        if not every:
            return None
        return min(every, key=lambda lap: (lap.lap_time_ms, lap.lap_end_ms, lap.car_id))

    def rows(self) -> list[TowerRow]:
        """The tower, leader first."""
        lapped = sorted(
            (car for car, laps in self._laps.items() if laps),
            key=lambda car: (-self._last(car).lap, self._last(car).lap_end_ms, car),
        )
        unlapped = sorted(car for car, laps in self._laps.items() if not laps)
        best = self.overall_best()
        leader = self._last(lapped[0]) if lapped else None
        rows = []
        for position, car in enumerate([*lapped, *unlapped], start=1):
            laps = self._laps[car]
            last = self._last(car) if laps else None
            rows.append(
                TowerRow(
                    position=position,
                    car_id=car,
                    laps=last.lap if last else 0,
                    last_lap_ms=last.lap_time_ms if last else None,
                    best_lap_ms=min(lap.lap_time_ms for lap in laps.values()) if laps else None,
                    gap=_gap(last, leader),
                    overall_best=best is not None and best.car_id == car,
                )
            )
        return rows

    def _last(self, car: int) -> Lap:
        laps = self._laps[car]
        return laps[max(laps)]


def _gap(last: Lap | None, leader: Lap | None) -> str:
    if last is None or leader is None:
        return MISSING
    if last.car_id == leader.car_id:
        return LEADER
    if last.lap < leader.lap:
        return laps_down(leader.lap - last.lap)
    return gap(last.lap_end_ms - leader.lap_end_ms)
