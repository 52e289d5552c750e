"""The job's parameters: one typed record, rendered as the job script's arguments.

Defaults come from the settings (TELEMETRY_* variables). The job script parses
the same arguments back into a `JobParams`, so the two can never drift.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace

from telemetry.core.config import Settings
from telemetry.core.contract import JOB_NAME

__all__ = ["STATE_KEYS", "JobParams"]

# What a restored state depends on: resuming with other values would mix two
# different jobs' windows (another window length, source or output).
STATE_KEYS = ("topic", "group_id", "window_seconds", "namespace")


@dataclass(frozen=True)
class JobParams:
    name: str
    topic: str
    dlq_topic: str
    window_topic: str
    lap_topic: str
    namespace: str  # the Iceberg namespace of the job's tables
    window_seconds: int
    out_of_orderness_seconds: int
    idle_timeout_seconds: int
    checkpoint_seconds: int
    parallelism: int = 0  # 0: the cluster's default
    group_id: str = ""  # "": the job name
    window_schema_version: int = 0  # the telemetry_window-value version written; 0: latest

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> JobParams:
        params = cls(
            name=JOB_NAME,
            topic=settings.topics.topic,
            dlq_topic=settings.topics.dlq_topic,
            window_topic=settings.topics.window_topic,
            lap_topic=settings.topics.lap_topic,
            namespace=settings.lake.namespace,
            window_seconds=settings.job.window_seconds,
            out_of_orderness_seconds=settings.job.out_of_orderness_seconds,
            idle_timeout_seconds=settings.job.idle_timeout_seconds,
            checkpoint_seconds=settings.job.checkpoint_seconds,
            window_schema_version=settings.job.window_schema_version,
            parallelism=settings.job.parallelism,
        )
        return replace(params, **overrides)  # type: ignore[arg-type]

    @property
    def consumer_group(self) -> str:
        return self.group_id or self.name

    def to_args(self) -> list[str]:
        args: list[str] = []
        for f in fields(self):
            args += [f"--{f.name.replace('_', '-')}", str(getattr(self, f.name))]
        return args

    @classmethod
    def parse(cls, argv: Sequence[str] | None, settings: Settings) -> JobParams:
        """The job script's side of `to_args` (defaults from the settings)."""
        defaults = cls.from_settings(settings)
        parser = argparse.ArgumentParser(
            prog="telemetry_job", description="The telemetry windows job (see its docstring)."
        )
        for f in fields(cls):
            default = getattr(defaults, f.name)
            parser.add_argument(
                f"--{f.name.replace('_', '-')}", type=type(default), default=default
            )
        return cls(**vars(parser.parse_args(argv)))

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def differences(self, other: JobParams, keys: Sequence[str] | None = None) -> list[str]:
        """`key=theirs (here: ours)` for every key that differs (all keys by default)."""
        chosen = keys or [f.name for f in fields(self)]
        mine, theirs = (
            self.as_dict() | {"group_id": self.consumer_group},
            other.as_dict() | {"group_id": other.consumer_group},
        )
        return [f"{k}={theirs[k]} (here: {mine[k]})" for k in chosen if mine[k] != theirs[k]]
