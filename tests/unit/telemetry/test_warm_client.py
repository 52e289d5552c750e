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


def serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built: list[object]) -> None:
    """A warm client on `tmp_path` whose builds record the settings they got."""

    def submit_in_process(settings: object, _params: object, _restore: object) -> str:
        built.append(settings)
        return "6f1c0ffee"

    monkeypatch.setattr("telemetry.ops.jobs.client.warm_up", lambda _settings: None)
    monkeypatch.setattr("telemetry.ops.jobs.client.submit_in_process", submit_in_process)
    (tmp_path / "run").mkdir(exist_ok=True)
    warm.serve(load_settings({"TELEMETRY_DATA_DIR": str(tmp_path)}))
    deadline = time.monotonic() + 10
    while not (tmp_path / "run" / warm.SOCKET_NAME).exists():
        assert time.monotonic() < deadline, "the warm client never listened"
        time.sleep(0.05)


def test_a_client_with_other_job_settings_is_served_with_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another checkpoint interval, parallelism or topic goes with the request: the job is
    built with the client's settings, not the server's."""
    built: list[object] = []
    serving(tmp_path, monkeypatch, built)
    theirs = load_settings(
        {
            "TELEMETRY_DATA_DIR": str(tmp_path),
            "TELEMETRY_CHECKPOINT_SECONDS": "2",
            "TELEMETRY_PARALLELISM": "3",
            "TELEMETRY_TOPIC": "practice",
        }
    )
    assert warm.submit_warm(theirs, JobParams.from_settings(theirs), None) == "6f1c0ffee"
    (settings,) = built
    assert settings == theirs


@pytest.mark.parametrize(
    "theirs",
    [
        {"AWS_SECRET_ACCESS_KEY": "another-secret"},  # the gateway JVM holds the server's
        {"JAVA_HOME": "/usr/lib/jvm/another"},  # the gateway runs on the server's Java
    ],
    ids=["another secret", "another Java"],
)
def test_a_client_whose_gateway_would_differ_is_not_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, theirs: dict[str, str]
) -> None:
    built: list[object] = []
    serving(tmp_path, monkeypatch, built)
    client = load_settings({"TELEMETRY_DATA_DIR": str(tmp_path), **theirs})
    assert warm.submit_warm(client, JobParams.from_settings(client), None) is None
    assert built == [], "the client submits in-process"
