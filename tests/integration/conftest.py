"""Fixtures of the integration tests (the stack itself comes from tests/conftest.py)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from support.jobs import JobRun

from telemetry import jobs
from telemetry.config import Settings
from telemetry.kafka import librdkafka_config


@pytest.fixture
def job_run(registered: Settings) -> Iterator[JobRun]:
    """A private copy of the job (own name, topics, group, output prefix), running.

    Its topics do not exist beforehand: submission creates them, as it does for users.
    """
    stack = registered
    from confluent_kafka.admin import AdminClient

    marker = uuid.uuid4().hex[:8]
    run = JobRun(
        stack,
        name=f"test-job-{marker}",
        topic=f"test_job_{marker}",
        dlq_topic=f"test_job_{marker}.dlq",
        prefix=f"tests/job/{marker}/telemetry",
    )
    run.submission = jobs.submit(stack, run.params, remember=False)
    yield run
    if jobs.active_job(stack, run.name) is not None:
        jobs.cancel(stack, run.name)
    admin = AdminClient(librdkafka_config(stack))
    topics = [run.topic, run.dlq_topic, f"{run.dlq_topic}.replayed"]
    for future in admin.delete_topics(topics).values():
        with contextlib.suppress(Exception):  # best-effort cleanup
            future.result(15)
