"""Names shared by the pipeline modules."""

from __future__ import annotations

RECORD_NAME = "acknowledged.jsonl"
POLL_S = 2.0
PROGRESS_EVERY_S = 5.0

WindowKey = tuple[int, int]  # (car_id, window_start in epoch ms)
