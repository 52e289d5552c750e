"""The live status line: on a terminal only, with the step, its elapsed time and a detail."""

from __future__ import annotations

import io
import re
import time

from telemetry.core.progress import Activity

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _frames(raw: str) -> list[str]:
    """What the terminal showed, frame by frame, without control sequences."""
    return [f.strip() for f in _ANSI.sub("", raw).replace("\n", "\r").split("\r") if f.strip()]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_is_written_when_the_stream_is_not_a_terminal() -> None:
    out = io.StringIO()
    with Activity("build MinIO", stream=out) as activity:
        activity.update("12 packages built")
    assert activity.enabled is False
    assert out.getvalue() == ""


def test_a_terminal_gets_the_step_the_elapsed_time_and_the_detail() -> None:
    out = _Terminal()
    with Activity("build MinIO", stream=out, width=100) as activity:
        activity.update("12 packages built")
        time.sleep(0.6)  # a few refreshes
    assert activity.enabled is True
    assert any(
        re.fullmatch(r"\S build MinIO 0:00:0\d 12 packages built", frame)
        for frame in _frames(out.getvalue())
    ), _frames(out.getvalue())


def test_a_long_detail_is_cut_to_the_terminal_width_not_wrapped() -> None:
    out = _Terminal()
    with Activity("step", stream=out, width=60) as activity:
        activity.update("x" * 200)
    frames = _frames(out.getvalue())
    assert frames and all(len(frame) <= 60 for frame in frames)
    assert frames[-1].endswith("…")


def test_a_transient_line_is_erased_when_the_step_ends() -> None:
    out = _Terminal()
    with Activity("step", stream=out, width=60) as activity:
        activity.update("detail")
    assert "detail" in out.getvalue()
    assert out.getvalue().endswith("\x1b[1A\x1b[2K")  # cursor up a line, erase it


def test_a_kept_line_stays_with_its_last_state() -> None:
    out = _Terminal()
    activity = Activity("producing", stream=out, width=80, transient=False, elapsed=False)
    activity.update("first")
    activity.update("300 sent")
    activity.close()
    assert re.fullmatch(r"\S producing 300 sent", _frames(out.getvalue())[-1])
    assert out.getvalue().endswith("\n\x1b[?25h")
