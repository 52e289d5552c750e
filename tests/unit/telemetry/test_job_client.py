"""Submitting in-process: a Java error PyFlink converts is a one-line ServiceError too."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from pyflink.util.exceptions import TableException

from telemetry.core.config import load_settings
from telemetry.core.errors import ServiceError
from telemetry.core.job_params import JobParams
from telemetry.ops.jobs import client

TRACE = """org.apache.flink.table.api.TableException: Failed to execute sql
\tat org.apache.flink.table.api.internal.TableEnvironmentImpl.executeInternal(X.java:1266)
Caused by: org.apache.flink.util.FlinkException: Failed to execute job 'telemetry-windows'.
\tat org.apache.flink.client.X.run(X.java:1)
Caused by: java.lang.IllegalStateException: Cannot map checkpoint/savepoint state for operator b3a1
\tat org.apache.flink.runtime.checkpoint.Checkpoints.x(Checkpoints.java:240)
"""


def test_a_converted_java_exception_becomes_a_service_error_with_its_root_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"")

    def execute(*_args: object, **_kwargs: object) -> str:
        raise TableException(TRACE)

    monkeypatch.setattr(client, "job_jar", lambda _settings: jar)
    monkeypatch.setattr(client, "_prepare_gateway", lambda _settings: None)
    monkeypatch.setattr(client, "_gateway_alive", lambda: True)
    monkeypatch.setattr(client, "_job_module", lambda: SimpleNamespace(execute=execute))
    settings = load_settings({})
    with pytest.raises(ServiceError) as raised:
        client.submit_in_process(settings, JobParams.from_settings(settings), None)
    assert str(raised.value) == (
        "submitting telemetry-windows failed: IllegalStateException: "
        "Cannot map checkpoint/savepoint state for operator b3a1"
    )
