"""`make run-pipeline`: the whole pipeline in one call (see run.py)."""

from telemetry.ops.pipeline.expectation import (
    Expectation,
    default_timeout,
    event_time_ms,
    load_expectation,
    window_start_ms,
)
from telemetry.ops.pipeline.run import run_pipeline
from telemetry.ops.pipeline.summary import CarSummary, PipelineSummary

__all__ = [
    "CarSummary",
    "Expectation",
    "PipelineSummary",
    "default_timeout",
    "event_time_ms",
    "load_expectation",
    "run_pipeline",
    "window_start_ms",
]
