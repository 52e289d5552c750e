"""Fixtures of the integration tests (the stack itself comes from tests/conftest.py)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from support.jobs import JobRun

from telemetry import jobs
from telemetry.config import Settings


@pytest.fixture
def job_run(registered: Settings) -> Iterator[JobRun]:
    stack = registered
    from confluent_kafka.admin import AdminClient, NewTopic

    marker = uuid.uuid4().hex[:8]
    run = JobRun(
        stack,
        name=f"test-job-{marker}",
        topic=f"test_job_{marker}",
        dlq_topic=f"test_job_{marker}.dlq",
        prefix=f"tests/job/{marker}/telemetry",
    )
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap_servers})
    new = [NewTopic(t, num_partitions=4, replication_factor=1) for t in (run.topic, run.dlq_topic)]
    for future in admin.create_topics(new).values():
        future.result(15)
    jobs.submit(stack, run.params, remember=False)
    yield run
    if jobs.active_job(stack, run.name) is not None:
        jobs.cancel(stack, run.name)
    for future in admin.delete_topics([run.topic, run.dlq_topic]).values():
        with contextlib.suppress(Exception):  # best-effort cleanup
            future.result(15)
