"""What the job must write, computed from the producer's `--record` alone.

Every column of the latest `telemetry_window-value` and `telemetry_lap-value` is
computed here with pandas, never with the project's aggregation code, and compared by a
rule of its own (`WINDOW_RULES`, `LAP_RULES`): a schema column without one fails the unit
test tests/unit/support/test_expectations.py. A null where the record has a value fails.

Which events are late is the record's to say too, by the job's watermark rule
(dev.telemetry.flink.EventSplit, IdleAdvancingWatermarks): an event is late when its time
is at or behind the watermark it meets, and the watermark of a partition is at most the
newest event time the partition delivered before it (in offset order, the arrival order)
less the out-of-orderness and 1 ms. So an event within the out-of-orderness of every
event before it in its partition is never late; `late_by_arrival` marks the others. The
job's late rows must each be an event of the record, once, that the rule allows to be late.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from telemetry.core.schemas import LAP_SUBJECT, WINDOW_SUBJECT, schema_text

__all__ = [
    "LAP_RULES",
    "OUT_OF_ORDERNESS_MS",
    "WINDOW_MS",
    "WINDOW_RULES",
    "assert_frame_matches",
    "event_millis",
    "expected_laps",
    "expected_windows",
    "late_after_a_pause",
    "late_by_arrival",
    "late_in_record",
    "schema_columns",
]

# The test job's window and watermark delay (tests/support/jobs.py, JobRun.params).
WINDOW_MS = 5_000
OUT_OF_ORDERNESS_MS = 2_000


@dataclass(frozen=True)
class Rule:
    """How one column is compared: exactly, or as floats within rtol/atol. Nulls always
    exactly: null where the record gives a value (or the reverse) fails."""

    exact: bool = False
    rtol: float = 1e-9
    atol: float = 0.0


EXACT, CLOSE = Rule(exact=True), Rule()
WINDOW_RULES: Mapping[str, Rule] = {
    "car_id": EXACT,
    "window_start": EXACT,
    "window_end": EXACT,
    "event_count": EXACT,
    "avg_speed": CLOSE,
    "min_speed": CLOSE,
    "max_speed": CLOSE,
    "avg_rpm": CLOSE,
    "max_rpm": EXACT,
    "avg_throttle": CLOSE,
    "avg_brake": CLOSE,
    "drs_open_ratio": CLOSE,
    "max_lap": EXACT,
    "min_rpm": EXACT,
    "avg_gear": CLOSE,
    # From sums of squares, clamped at 0 where the variance cancels out.
    "stddev_speed": Rule(rtol=1e-6, atol=1e-4),
}
LAP_RULES: Mapping[str, Rule] = {
    "car_id": EXACT,
    "lap": EXACT,
    "lap_start": EXACT,
    "lap_end": EXACT,
    "lap_time_ms": EXACT,
    "top_speed": CLOSE,
    "min_speed": CLOSE,
    "avg_speed": CLOSE,
    "avg_throttle": CLOSE,
    "brake_share": CLOSE,
    "max_rpm": EXACT,
    "event_count": EXACT,
}


def schema_columns(subject: str) -> list[str]:
    """The field names of the latest version of `subject`, in order."""
    return [field["name"] for field in json.loads(schema_text(subject))["fields"]]


def event_millis(seconds: pd.Series) -> pd.Series:
    """The job's event time: Java's Math.round(seconds * 1000), half up (not pandas')."""
    return np.floor(seconds.astype("float64") * 1000 + 0.5).astype("int64")


def _instant(millis: pd.Series) -> pd.Series:
    return pd.to_datetime(millis, unit="ms").astype("datetime64[ns]")


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column that older producers leave out, as floats (NaN where absent)."""
    if column not in frame:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame[column]).astype("float64")


def expected_windows(events: pd.DataFrame) -> pd.DataFrame:
    """Per car and window: every column of the latest window schema, in its order."""
    frame = events.copy()
    start_ms = event_millis(frame["timestamp"]) // WINDOW_MS * WINDOW_MS
    frame["window_start"] = _instant(start_ms)
    frame["window_end"] = _instant(start_ms + WINDOW_MS)
    drs = frame["drs"] if "drs" in frame else pd.Series(None, index=frame.index)
    frame["drs_open"] = drs.map({True: 1.0, False: 0.0}).astype("float64")
    for column in ("throttle", "brake", "lap", "gear"):
        frame[column] = _numbers(frame, column)
    grouped = frame.groupby(["car_id", "window_start", "window_end"])
    computed = pd.DataFrame(
        {
            "event_count": grouped.size(),
            "avg_speed": grouped["speed"].mean(),
            "min_speed": grouped["speed"].min(),
            "max_speed": grouped["speed"].max(),
            "avg_rpm": grouped["rpm"].mean(),
            "max_rpm": grouped["rpm"].max(),
            "avg_throttle": grouped["throttle"].mean(),  # NaN when no event reports it
            "avg_brake": grouped["brake"].mean(),
            "drs_open_ratio": grouped["drs_open"].mean(),
            "max_lap": grouped["lap"].max().astype("Int64"),
            "min_rpm": grouped["rpm"].min(),
            "avg_gear": grouped["gear"].mean(),
            "stddev_speed": grouped["speed"].std(ddof=0),
        }
    ).reset_index()
    return computed[[c for c in schema_columns(WINDOW_SUBJECT) if c in computed]]


def expected_laps(events: pd.DataFrame) -> pd.DataFrame:
    """Per car and completed lap: every column of the latest lap schema, in its order.

    A lap runs from its first event (the line crossing) to the first event of the car's
    next lap number; the lap a car is first seen on is partial and not a lap, and so is
    the last one, which no crossing ends yet. Events without a lap number take no part.
    """
    frame = events[events["lap"].notna()].copy()
    frame["lap"] = frame["lap"].astype("int64")
    frame["millis"] = event_millis(frame["timestamp"])
    frame["braking"] = _numbers(frame, "brake").fillna(0) > 0
    frame["throttle"] = _numbers(frame, "throttle")
    grouped = frame.groupby(["car_id", "lap"])
    laps = pd.DataFrame(
        {
            "start_ms": grouped["millis"].min(),
            "top_speed": grouped["speed"].max(),
            "min_speed": grouped["speed"].min(),
            "avg_speed": grouped["speed"].mean(),
            "avg_throttle": grouped["throttle"].mean(),
            "brake_share": grouped["braking"].mean(),
            "max_rpm": grouped["rpm"].max(),
            "event_count": grouped.size(),
        }
    ).reset_index()
    laps = laps.sort_values(["car_id", "start_ms"])
    by_car = laps.groupby("car_id")
    laps["end_ms"] = by_car["start_ms"].shift(-1)
    first_seen = by_car.cumcount() == 0
    laps = laps[~first_seen & laps["end_ms"].notna()].copy()
    laps["end_ms"] = laps["end_ms"].astype("int64")
    laps["lap_time_ms"] = laps["end_ms"] - laps["start_ms"]
    laps["lap_start"] = _instant(laps["start_ms"])
    laps["lap_end"] = _instant(laps["end_ms"])
    laps = laps.reset_index(drop=True)
    return laps[[c for c in schema_columns(LAP_SUBJECT) if c in laps]]


def late_by_arrival(
    events: pd.DataFrame, out_of_orderness_ms: int = OUT_OF_ORDERNESS_MS
) -> pd.Series:
    """Per event: whether the watermark rule allows it to be late, from its place in the
    record (partition, offset) alone: its time is at or behind the newest event time
    delivered before it in its partition, less the out-of-orderness and 1 ms. (The job's
    watermark can only be lower: periodic, and the least of a reader's partitions.)"""
    order = events.sort_values(["partition", "offset"])
    millis = event_millis(order["timestamp"])
    newest_before = millis.groupby(order["partition"]).cummax().groupby(order["partition"]).shift(1)
    late = millis <= newest_before - out_of_orderness_ms - 1
    return late.reindex(events.index).fillna(False).astype(bool)


def late_after_a_pause(
    events: pd.DataFrame, late: pd.DataFrame, resumed: pd.Series, slack_ms: int = 500
) -> pd.Series:
    """Per event: whether it may be late when a producer paused past the idle timeout and
    resumed (`resumed` marks its events after the pause). The drained partitions' watermark
    followed the clock meanwhile, to W, and holds there until event time passes it again:
    the resumed events at or behind W are late, the others on time. So, per partition, the
    late resumed events are those up to the newest of them in event time, but for
    `slack_ms` below it (the watermark moves every 200 ms, and a reader's partitions
    resume a few ms apart). Asserts that those are late; returns the events that may be
    (those, the ones up to the newest, and the ones late by arrival)."""
    marked = late_in_record(late, events)
    millis = event_millis(events["timestamp"])
    newest = millis[marked & resumed].groupby(events["partition"]).max()
    threshold = events["partition"].map(newest)
    allowed = resumed & (millis <= threshold)
    required = resumed & (millis <= threshold - slack_ms)
    unmarked = required & ~marked
    assert not unmarked.any(), (
        f"{int(unmarked.sum())} resumed events behind a later late one were not late, "
        f"e.g. {events[unmarked][['car_id', 'timestamp', 'partition', 'offset']].head(3)}"
    )
    return allowed | late_by_arrival(events)


def late_in_record(late: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """Per event of the record: whether the job wrote it as late. Each late row must be an
    event of the record (its partition and offset, with the same car and time), once, and
    behind the watermark it names."""
    marked = pd.Series(False, index=events.index)
    if not len(late):
        return marked
    places = list(zip(late["kafka_partition"], late["kafka_offset"], strict=True))
    assert len(set(places)) == len(places), "an event is in late_events twice"
    by_place = {
        (int(p), int(o)): i
        for i, p, o in zip(events.index, events["partition"], events["offset"], strict=True)
    }
    strangers = [place for place in places if place not in by_place]
    assert not strangers, f"late rows that are no event of the record: {strangers[:5]}"
    matched = [by_place[(int(p), int(o))] for p, o in places]
    record = events.loc[matched]
    assert list(record["car_id"].astype("int64")) == list(late["car_id"].astype("int64"))
    np.testing.assert_array_equal(
        event_millis(record["timestamp"]).to_numpy(), event_millis(late["timestamp"]).to_numpy()
    )
    behind = late["event_time"] <= late["watermark_at_arrival"]
    assert behind.all(), "a late row is ahead of the watermark it says it missed"
    marked.loc[matched] = True
    return marked


def _normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Instants as naive UTC datetime64[ns], as the table (tz-aware) or the topic gave them."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].astype("datetime64[ns]")
    return out


def _assert_column(name: str, actual: pd.Series, expected: pd.Series, rule: Rule) -> None:
    nulls = actual.isna() != expected.isna()
    assert not nulls.any(), (
        f"{name}: null where the record has a value, or the reverse, "
        f"at {list(nulls[nulls].index[:5])}"
    )
    got, want = actual.dropna(), expected.dropna()
    if pd.api.types.is_datetime64_any_dtype(want):
        assert (got == want).all(), f"{name} differs at {list(got[got != want].index[:5])}"
    elif rule.exact:
        wrong = got.astype("int64") != want.astype("int64")
        assert not wrong.any(), f"{name} differs at {list(wrong[wrong].index[:5])}"
    else:
        np.testing.assert_allclose(
            got.astype("float64"), want.astype("float64"), rtol=rule.rtol, atol=rule.atol,
            err_msg=name,
        )  # fmt: skip


def assert_frame_matches(
    actual: pd.DataFrame,
    expected: pd.DataFrame,
    keys: list[str],
    rules: Mapping[str, Rule],
    what: str,
    *,
    nullable: Mapping[str, pd.Index] | None = None,
) -> None:
    """`actual` holds the expected rows, each once, every column by its rule. `nullable`:
    per column, the keys where a row was written by an older version (null in it)."""
    assert set(rules) == set(expected.columns), (
        f"columns without a rule: {set(expected) ^ set(rules)}"
    )
    missing_columns = [c for c in expected.columns if c not in actual]
    assert not missing_columns, f"{what} lack the columns {missing_columns}"
    got = _normalized(actual)
    for key in keys:
        if not pd.api.types.is_datetime64_any_dtype(got[key]):
            got[key] = got[key].astype("int64")
    twice = got[got.duplicated(keys, keep=False)]
    assert twice.empty, f"{what} written twice: {twice[keys].drop_duplicates().values[:5].tolist()}"
    got = got.set_index(keys).sort_index()
    want = _normalized(expected).set_index(keys).sort_index()
    missing = want.index.difference(got.index)
    extra = got.index.difference(want.index)
    assert missing.empty and extra.empty, (
        f"{what}: {len(missing)} missing {list(missing[:3])}, "
        f"{len(extra)} unexpected {list(extra[:3])}"
    )
    for column in want.columns:
        expected_column = want[column].copy()
        older = (nullable or {}).get(column)
        if older is not None:
            expected_column.loc[older] = None
        _assert_column(f"{what}.{column}", got[column], expected_column, rules[column])
