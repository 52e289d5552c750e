"""Names shared by the pipeline modules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

RECORD_NAME = "acknowledged.jsonl"
POLL_S = 2.0
PROGRESS_EVERY_S = 5.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

WindowKey = tuple[int, int]  # (car_id, window_start in epoch ms)
