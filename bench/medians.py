"""The table the timing benches print: a row per name, its median and range."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence


def print_medians(samples: Mapping[str, Sequence[float]], digits: int = 3) -> None:
    """One line per row: the name, the median of its seconds and (min-max)."""
    width = max(len("row"), *map(len, samples))
    print(f"{'row':<{width}}  median s  (min-max)")
    for name, values in samples.items():
        print(
            f"{name:<{width}}  {statistics.median(values):8.{digits}f}  "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})"
        )
