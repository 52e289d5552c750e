"""`telemetry job submit` (and so `make submit-job`) when the job already runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from telemetry.cli.main import main
from telemetry.core.config import Settings, load_settings
from telemetry.core.job_params import JobParams
from telemetry.ops.jobs import lifecycle
from telemetry.ops.jobs.rest import JobInfo

Pretend = Callable[[JobParams], None]
RUNNING = JobInfo("a" * 32, "telemetry-windows", "RUNNING", 1_700_000_000_000, 60_000)


@pytest.fixture
def running_with(monkeypatch: pytest.MonkeyPatch) -> Pretend:
    """Pretend the cluster runs the job, submitted with the parameters given."""

    def pretend(params: JobParams) -> None:
        monkeypatch.setattr(lifecycle, "active_job", lambda _s, name: replace(RUNNING, name=name))
        monkeypatch.setattr(lifecycle, "read_manifest", lambda _s, _name, _job_id: params)

    return pretend


def _settings() -> Settings:
    return load_settings()


def test_the_same_job_with_the_same_settings_is_success(
    running_with: Pretend, capsys: pytest.CaptureFixture[str]
) -> None:
    running_with(JobParams.from_settings(_settings()))
    assert main(["job", "submit"]) == 0
    name = JobParams.from_settings(_settings()).name
    assert capsys.readouterr().out == (
        f"job {name} is already running ({'a' * 32}) with these settings\n"
    )


def test_the_same_job_with_other_settings_is_an_error_that_says_how_to_change_them(
    running_with: Pretend, capsys: pytest.CaptureFixture[str]
) -> None:
    ours = JobParams.from_settings(_settings())
    running_with(replace(ours, window_seconds=ours.window_seconds * 2))
    assert main(["job", "submit"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: job {ours.name} is already running ({'a' * 32}) with other ")
    assert f"window_seconds={ours.window_seconds * 2} (here: {ours.window_seconds})" in err
    assert "`telemetry job stop` it and submit again" in err
