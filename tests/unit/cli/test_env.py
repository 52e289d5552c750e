"""`telemetry env`: export lines by default, or JSON with the same values."""

from __future__ import annotations

import json
import shlex

import pytest

from telemetry.cli.main import main
from telemetry.config import ENV_VARS

DOCS = {v.name: v.doc for v in ENV_VARS}


@pytest.fixture(autouse=True)
def _own_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not minioadmin")


def test_json_lists_every_variable_with_value_secret_flag_and_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["env", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [v.name for v in ENV_VARS]
    by_name = {r["name"]: r for r in rows}
    assert by_name["AWS_SECRET_ACCESS_KEY"] == {
        "name": "AWS_SECRET_ACCESS_KEY",
        "value": "not minioadmin",
        "secret": True,
        "description": DOCS["AWS_SECRET_ACCESS_KEY"],
    }
    assert by_name["KAFKA_BOOTSTRAP_SERVERS"]["secret"] is False
    assert [r["name"] for r in rows if r["secret"]] == [v.name for v in ENV_VARS if v.secret]


def test_json_and_export_lines_give_the_same_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env", "--format", "json"]) == 0
    from_json = {r["name"]: r["value"] for r in json.loads(capsys.readouterr().out)}
    assert main(["env"]) == 0
    exported = {}
    for line in capsys.readouterr().out.splitlines():
        word, assignment = shlex.split(line)
        assert word == "export"
        name, _, value = assignment.partition("=")
        exported[name] = value
    assert exported == from_json
