"""`telemetry status|up --format json`: the status table as JSON, and only that on stdout."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from telemetry.cli.main import main
from telemetry.core.config import Settings
from telemetry.ops import stack
from telemetry.ops.stack.control import ServiceStatus
from telemetry.ops.stack.services import SERVICES


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TELEMETRY_DATA_DIR", str(tmp_path))
    return tmp_path


def _running(settings: Settings) -> list[ServiceStatus]:
    return [
        ServiceStatus("minio", "MinIO", 4242, True, "http://127.0.0.1:9000", 171.4),
        ServiceStatus("kafka", "Kafka", 4343, True, "127.0.0.1:9092", 696.6),
    ]


def test_status_json_of_a_stopped_stack_has_nulls_and_exits_1(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--format", "json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [r["service"] for r in rows] == [s.name for s in SERVICES]
    assert {(r["pid"], r["healthy"], r["rss_mib"]) for r in rows} == {(None, False, None)}
    assert rows[1]["endpoint"] == "127.0.0.1:9092"


def test_status_table_shows_a_dash_where_a_service_has_no_process(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == 1
    kafka = capsys.readouterr().out.splitlines()[3]
    assert kafka.split() == ["kafka", "-", "False", "-", "127.0.0.1:9092"]


def test_up_json_prints_the_final_status_on_stdout_and_its_progress_on_stderr(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_up(settings: Settings, say: Callable[[str], None] = print) -> Settings:
        say("starting the local stack:")
        say("  MinIO  already running (pid 4242)")
        return settings

    monkeypatch.setattr(stack, "up", fake_up)
    monkeypatch.setattr(stack, "status", _running)
    assert main(["up", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == [
        {
            "service": "minio",
            "pid": 4242,
            "healthy": True,
            "rss_mib": 171,
            "endpoint": "http://127.0.0.1:9000",
        },
        {
            "service": "kafka",
            "pid": 4343,
            "healthy": True,
            "rss_mib": 697,
            "endpoint": "127.0.0.1:9092",
        },
    ]
    lines = err.splitlines()
    assert lines[:2] == ["starting the local stack:", "  MinIO  already running (pid 4242)"]
    assert lines[2].startswith("stack is up (")
    assert lines[3] == "stop it with `make down`; logs with `make logs`"


def test_up_as_a_table_keeps_everything_on_stdout(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_up(settings: Settings, say: Callable[[str], None] = print) -> Settings:
        say("starting the local stack:")
        return settings

    monkeypatch.setattr(stack, "up", fake_up)
    monkeypatch.setattr(stack, "status", _running)
    assert main(["up"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "starting the local stack:"
    assert lines[1].startswith("stack is up (")
    assert lines[2].split() == ["service", "pid", "healthy", "rss_mib", "endpoint"]
    assert lines[4].split() == ["minio", "4242", "True", "171", "http://127.0.0.1:9000"]
