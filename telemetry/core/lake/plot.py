"""A picture of the windows: per-car average speed over time, as a PNG.

matplotlib (Agg, no display) and pandas are imported only when a plot is made.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from telemetry.core.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from matplotlib.axes import Axes
    from matplotlib.colors import ListedColormap

__all__ = ["plot_speed"]

NEEDED = ("car_id", "window_start", "avg_speed", "event_count")
_LINE_STYLES = ("-", "--", ":", "-.")
MEAN_FROM_CARS = 4  # the all-car mean line helps only when there are many lines


def plot_speed(table: pa.Table, path: str | Path, *, source: str = "") -> Path:
    """One line per car: x = window_start (UTC), y = avg_speed (km/h); writes `path`.

    From 4 cars on, a thick black line is the all-car mean weighted by event_count. `source`
    (e.g. the S3 prefix) is shown under the title.
    """
    missing = [c for c in NEEDED if c not in table.column_names]
    if missing:
        raise InvalidInputError(f"cannot plot without column {', '.join(missing)}")
    if table.num_rows == 0:
        raise InvalidInputError("nothing to plot: no windows")

    # late: pandas and matplotlib are heavy to import and only this path needs them
    import pandas as pd
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    frame = table.select(list(NEEDED)).to_pandas()
    frame["window_start"] = frame["window_start"].dt.tz_convert("UTC")
    speed = frame.pivot_table(index="window_start", columns="car_id", values="avg_speed")
    frame["weighted"] = frame["avg_speed"] * frame["event_count"]
    totals = frame.groupby("window_start")[["weighted", "event_count"]].sum()
    mean = totals["weighted"] / totals["event_count"]
    # A regular grid of window starts: windows nobody wrote (between runs)
    # become gaps in the lines instead of straight lines across them.
    steps = speed.index.to_series().diff().dropna()
    if len(steps) and steps.min() > pd.Timedelta(0):
        grid = pd.date_range(speed.index[0], speed.index[-1], freq=steps.min())
        if len(grid) <= 200_000 and grid.isin(speed.index).sum() == len(speed.index):
            speed, mean = speed.reindex(grid), mean.reindex(grid)

    fig = Figure(figsize=(13, 6.5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    _draw_cars(ax, speed, mean)
    _describe(ax, frame, len(speed.columns), source)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out


def _draw_cars(ax: Axes, speed: pd.DataFrame, mean: pd.Series) -> None:
    """A line per car, and the all-car mean where there are many."""
    cars = list(speed.columns)
    dense = len(speed.index) > 40  # markers only while points are few
    # Past 10 cars, tab20's 10 strong colours, then their light partners.
    colors = _colors("tab20")[0::2] + _colors("tab20")[1::2] if len(cars) > 10 else _colors("tab10")
    for i, car in enumerate(cars):
        series = speed[car]
        ax.plot(
            series.index,
            series.to_numpy(),
            color=colors[i % len(colors)],
            linestyle=_LINE_STYLES[(i // len(colors)) % len(_LINE_STYLES)],
            linewidth=1.2,
            marker=None if dense else "o",
            markersize=3,
            alpha=0.85,
            label=f"car {car}",
        )
    if len(cars) >= MEAN_FROM_CARS:
        ax.plot(mean.index, mean.to_numpy(), color="black", linewidth=2.6, label="all cars (mean)")


def _describe(ax: Axes, frame: pd.DataFrame, cars: int, source: str) -> None:
    """Title, axes in UTC, grid and legend."""
    # late: matplotlib is heavy to import and only this path needs it
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    first = frame["window_start"].min().to_pydatetime()
    last = frame["window_start"].max().to_pydatetime()
    ax.set_title(
        f"Average speed per car, windows starting {_span(first, last)}\n"
        f"{cars} {'car' if cars == 1 else 'cars'} · {len(frame)} windows · "
        f"{int(frame['event_count'].sum()):,} events" + (f" · {source}" if source else ""),
        loc="left",
        fontsize=12,
    )
    ax.set_xlabel("window start (UTC)")
    ax.set_ylabel("average speed (km/h)")
    # matplotlib.dates has no annotations (matplotlib ships no dates.pyi).
    locator = AutoDateLocator(tz="UTC")  # type: ignore[no-untyped-call]
    formatter = ConciseDateFormatter(  # type: ignore[no-untyped-call]
        locator,
        tz="UTC",
        formats=["%Y", "%b", "%d", "%H:%M", "%H:%M:%S", "%H:%M:%S.%f"],
        zero_formats=["", "%Y", "%b", "%b %d", "%H:%M", "%H:%M:%S"],
    )
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    ax.grid(True, color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        ncols=1 if cars <= 24 else 2,
        fontsize=9,
    )


def _span(first: datetime, last: datetime) -> str:
    """'2026-11-28 03:00:00 to 03:00:55 UTC' (the date once when it does not change)."""
    end = f"{last:%H:%M:%S}" if first.date() == last.date() else f"{last:%Y-%m-%d %H:%M:%S}"
    return f"{first:%Y-%m-%d %H:%M:%S} to {end} UTC"


def _colors(name: str) -> tuple[tuple[float, float, float], ...]:
    """The colours of a qualitative colormap (tab10, tab20): its RGB triples."""
    # late: matplotlib is heavy to import and only this path needs it
    from matplotlib import colormaps

    # The qualitative maps are ListedColormaps, whose colors (stubbed as any colour
    # data) are a tuple of RGB triples.
    colormap = cast("ListedColormap", colormaps[name])
    return cast("tuple[tuple[float, float, float], ...]", colormap.colors)
