"""The producer's live line: counts, rate and elapsed time, on a terminal only."""

from __future__ import annotations

import io
import re

from producer.progress_line import INTERVAL_S, ProgressLine

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _last_frame(raw: str) -> str:
    frames = [f.strip() for f in _ANSI.sub("", raw).replace("\n", "\r").split("\r")]
    return [f for f in frames if f][-1]


def test_the_line_shows_totals_rate_and_elapsed_and_stays_at_the_end() -> None:
    out = _Terminal()
    line = ProgressLine(out)
    line.update(0.0, 0.5, 1_000, 900, 0)
    line.update(float("inf"), 2.0, 4_000, 3_990, 10)
    line.close()
    assert line.enabled is True
    assert re.fullmatch(
        r"\S producing 4,000 sent · 3,990 acked · 10 failed · 1,995 events/s · 2\.0 s",
        _last_frame(out.getvalue()),
    )
    assert out.getvalue().endswith("\n\x1b[?25h")


def test_updates_closer_together_than_the_interval_are_skipped() -> None:
    out = _Terminal()
    line = ProgressLine(out, enabled=True)
    line.update(10.0, 1.0, 100, 100, 0)
    line.update(10.0 + INTERVAL_S / 2, 1.1, 200, 200, 0)
    line.close()
    assert "200 sent" not in out.getvalue()
    assert re.match(r"\S producing 100 sent", _last_frame(out.getvalue()))


def test_nothing_is_written_when_stderr_is_not_a_terminal() -> None:
    out = io.StringIO()
    line = ProgressLine(out)
    line.update(0.0, 1.0, 100, 100, 0)
    line.close()
    assert line.enabled is False
    assert out.getvalue() == ""


def test_the_line_says_how_long_it_has_been_waiting_for_kafka() -> None:
    out = _Terminal()
    line = ProgressLine(out, enabled=True)
    line.update(10.0, 1.0, 100, 100, 0, waiting=0)
    line.update(20.0, 11.0, 500, 100, 0, waiting=400)  # nothing acknowledged for 10 s
    line.close()
    assert re.match(
        r"\S producing waiting for Kafka for 10 s \(400 events held\) · 500 sent · 100 acked",
        _last_frame(out.getvalue()),
    )


def test_the_wait_ends_when_kafka_acknowledges_again() -> None:
    out = _Terminal()
    line = ProgressLine(out, enabled=True)
    line.update(10.0, 1.0, 100, 100, 0, waiting=0)
    line.update(20.0, 11.0, 500, 100, 0, waiting=400)
    line.update(21.0, 12.0, 500, 500, 0, waiting=0)
    line.close()
    assert "waiting" not in _last_frame(out.getvalue())


def test_a_short_pause_between_acknowledgements_is_not_waiting() -> None:
    out = _Terminal()
    line = ProgressLine(out, enabled=True)
    line.update(10.0, 1.0, 100, 90, 0, waiting=10)
    line.update(11.0, 2.0, 200, 90, 0, waiting=110)
    line.close()
    assert "waiting" not in out.getvalue()
