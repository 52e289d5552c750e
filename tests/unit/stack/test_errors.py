"""Stack failures become one actionable line (plus a log tail where it helps)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from telemetry.core.config import load_settings
from telemetry.core.errors import ServiceError
from telemetry.ops.host import process
from telemetry.ops.host.layout import Layout
from telemetry.ops.stack import control
from telemetry.ops.stack.services import Launch, Service
from telemetry.ops.stack.setup import _run


def test_a_failed_download_names_the_step_the_fix_and_the_log(tmp_path: Path) -> None:
    layout = Layout(cache=tmp_path, data=tmp_path / "data", minio_cache=tmp_path / "minio")
    with pytest.raises(ServiceError) as excinfo:
        _run("download Kafka", ["false"], "maven.log", layout, say=lambda _m: None)
    first_line = str(excinfo.value).splitlines()[0]
    assert first_line.startswith("failed to download Kafka (exit 1); check access to the package")
    assert "rerun `make setup`" in first_line
    assert str(tmp_path / "maven.log") in first_line


def test_a_service_that_dies_at_start_reports_the_tail_of_its_log(tmp_path: Path) -> None:
    settings = load_settings({"TELEMETRY_DATA_DIR": str(tmp_path / "data")})
    layout = Layout(cache=tmp_path, data=tmp_path / "data", minio_cache=tmp_path / "minio")
    script = "import sys; print('line one'); print('port clash: boom'); sys.exit(3)"
    service = Service(
        name="fake",
        title="Fake Server",
        ports=lambda _s: {},
        launch=lambda _s, _l: Launch([sys.executable, "-c", script], {}, tmp_path),
        healthy=lambda _s: False,
        markers=lambda _l: ("fake",),
        endpoint=lambda _s: "-",
        start_timeout=20,
    )
    with pytest.raises(ServiceError) as excinfo:
        control.start_service(service, settings, layout, say=lambda _m: None)
    lines = str(excinfo.value).splitlines()
    assert lines[0].startswith("Fake Server exited during start-up; last lines of ")
    assert lines[-1] == "port clash: boom"
    assert not layout.pid_file("fake").exists()


def test_stop_only_touches_a_process_whose_command_line_matches(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    pid_file = tmp_path / "other.pid"
    pid_file.write_text(f"{sleeper.pid}\n")
    try:
        assert process.stop(pid_file, ("not-this-process",)) is False
        assert sleeper.poll() is None  # a stale pid file never kills a stranger
    finally:
        sleeper.kill()
        sleeper.wait()
