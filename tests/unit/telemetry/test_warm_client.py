"""The warm job client's socket server: every request gets an answer, whatever fails.

The server runs here for real on a Unix socket in a temporary data folder; only
the job build behind it (PyFlink's gateway) is replaced.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from telemetry.core.config import load_settings
from telemetry.core.errors import ServiceError
from telemetry.core.job_params import JobParams
from telemetry.ops.jobs import warm


def test_a_submission_that_raises_anything_is_answered_and_the_next_one_is_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings({"TELEMETRY_DATA_DIR": str(tmp_path)})
    (tmp_path / "run").mkdir()
    outcomes: list[object] = [
        RuntimeError("TableException: Failed to execute sql\n\tat org.apache.flink..."),
        "6f1c0ffee",
    ]

    def submit_in_process(_settings: object, _params: object, _restore: object) -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return str(outcome)

    monkeypatch.setattr("telemetry.ops.jobs.client.warm_up", lambda _settings: None)
    monkeypatch.setattr("telemetry.ops.jobs.client.submit_in_process", submit_in_process)
    warm.serve(settings)
    deadline = time.monotonic() + 10
    while not (tmp_path / "run" / warm.SOCKET_NAME).exists():
        assert time.monotonic() < deadline, "the warm client never listened"
        time.sleep(0.05)

    params = JobParams.from_settings(settings)
    with pytest.raises(ServiceError) as raised:
        warm.submit_warm(settings, params, None)
    assert str(raised.value) == (
        "the warm job client failed: RuntimeError: TableException: Failed to execute sql"
    )
    assert warm.submit_warm(settings, params, None) == "6f1c0ffee"


def test_a_client_whose_code_changed_since_the_server_started_is_not_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server fingerprints the code it loaded: a job script edited since then (or
    another jar) makes the client submit in-process instead of getting the old code."""
    settings = load_settings({"TELEMETRY_DATA_DIR": str(tmp_path)})
    script = tmp_path / "telemetry_job.py"
    script.write_text("# the job, as the supervisor loaded it\n")
    monkeypatch.setattr(warm, "job_script", lambda: script)
    before = warm.fingerprint(settings)
    assert warm.fingerprint(settings) == before, "the same code, the same fingerprint"
    script.write_text("# the job, edited since\n")
    assert warm.fingerprint(settings) != before
    script.write_text("# the job, as the supervisor loaded it\n")
    monkeypatch.setattr(warm, "job_jar", lambda _s: tmp_path / "job-jar-other" / "x.jar")
    assert warm.fingerprint(settings) != before
