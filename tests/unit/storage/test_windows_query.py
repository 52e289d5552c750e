"""Time ranges, --last, car lists: what `telemetry read` is asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from telemetry.core.errors import InvalidInputError
from telemetry.core.lake.query import (
    TimeRange,
    format_ids,
    iso,
    parse_cars,
    parse_duration,
    parse_time,
    resolve_range,
)

NOW = datetime(2026, 11, 28, 3, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T03:00:05Z", datetime(2026, 11, 28, 3, 0, 5, tzinfo=UTC)),
        ("2026-11-28T03:00Z", datetime(2026, 11, 28, 3, tzinfo=UTC)),
        ("2026-11-28T05:00:00+02:00", datetime(2026, 11, 28, 3, tzinfo=UTC)),
        ("2026-11-28 03:00:00.250", datetime(2026, 11, 28, 3, 0, 0, 250_000, tzinfo=UTC)),
        ("2026-11-28", datetime(2026, 11, 28, tzinfo=UTC)),
        ("now", NOW),
    ],
)
def test_iso_times_parse_to_utc_and_naive_means_utc(text: str, expected: datetime) -> None:
    parsed = parse_time(text, now=NOW)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "03:00", "", "2026-11-28T25:00"])
def test_unparseable_time_is_invalid_input_naming_the_option(text: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^--start .* is not an ISO 8601 time") as err:
        parse_time(text, option="--start")
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h30m", 5400), ("2d", 172800), ("1.5h", 5400), ("250ms", 0.25)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["10", "m", "10 minutes", "-5m", "0s", "10m5", "1w"])
def test_bad_durations_are_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInputError, match="--last"):
        parse_duration(text, option="--last")


def test_last_counts_back_from_now() -> None:
    assert resolve_range(last="10m", now=NOW) == TimeRange(NOW - timedelta(minutes=10), NOW)


def test_last_counts_back_from_end_when_given() -> None:
    got = resolve_range(end="2026-11-28T01:00Z", last="1h", now=NOW)
    assert got == TimeRange(
        datetime(2026, 11, 28, 0, tzinfo=UTC), datetime(2026, 11, 28, 1, tzinfo=UTC)
    )


def test_last_and_start_exclude_each_other() -> None:
    with pytest.raises(InvalidInputError, match="--last and --start"):
        resolve_range(start="2026-11-28", last="1h", now=NOW)


def test_open_sides_stay_open() -> None:
    assert resolve_range() == TimeRange(None, None)
    assert resolve_range(start="2026-11-28").end is None
    assert resolve_range(end="2026-11-28").start is None


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-11-28T03:00Z", "2026-11-28T03:00Z"), ("2026-11-28T04:00Z", "2026-11-28T03:00Z")],
)
def test_start_not_before_end_is_an_empty_range(start: str, end: str) -> None:
    with pytest.raises(
        InvalidInputError, match=r"^empty time range: start .* is not before end"
    ) as err:
        resolve_range(start=start, end=end)
    assert err.value.exit_code == 2


def test_range_is_half_open_on_window_start() -> None:
    start, end = datetime(2026, 11, 28, 3, tzinfo=UTC), datetime(2026, 11, 28, 4, tzinfo=UTC)
    window = TimeRange(start, end)
    assert start in window
    assert end - timedelta(milliseconds=1) in window
    assert end not in window
    assert start - timedelta(milliseconds=1) not in window
    assert datetime(2026, 11, 28, 3, 30) in window  # naive is UTC


def test_aware_non_utc_bounds_are_converted() -> None:
    cet = timezone(timedelta(hours=1))
    window = TimeRange(datetime(2026, 11, 28, 4, tzinfo=cet), None)
    assert window.start == datetime(2026, 11, 28, 3, tzinfo=UTC)


def test_range_text() -> None:
    start, end = datetime(2026, 11, 28, 3, tzinfo=UTC), datetime(2026, 11, 28, 3, 0, 5, 500_000)
    assert str(TimeRange(start, end)) == "[2026-11-28T03:00:00Z, 2026-11-28T03:00:05.500Z)"
    assert str(TimeRange(start)) == "since 2026-11-28T03:00:00Z"
    assert str(TimeRange(None, start)) == "before 2026-11-28T03:00:00Z"
    assert str(TimeRange()) == "all time"
    assert iso(datetime(2027, 1, 1)) == "2027-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("text", "cars"), [("7,44", [7, 44]), ("44, 7,7", [7, 44]), ("1-3,7", [1, 2, 3, 7]), ("5", [5])]
)
def test_car_lists(text: str, cars: list[int]) -> None:
    assert parse_cars(text) == cars


@pytest.mark.parametrize("text", ["seven", "7,,44", "5-3", "1-x", "7;44"])
def test_bad_car_lists_are_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^--cars"):
        parse_cars(text)


def test_car_ids_print_as_runs() -> None:
    assert format_ids(list(range(1, 21))) == "1-20"
    assert format_ids([7, 1, 2, 3, 5, 8]) == "1-3, 5, 7-8"
    assert format_ids([]) == "none"
