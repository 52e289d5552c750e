"""`telemetry env`: export lines by default, or JSON with the same values."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from telemetry.cli.main import main
from telemetry.core.config import ENV_DEFAULTS_MARK, ENV_PROFILE_MARK, ENV_VARS

DOCS = {v.name: v.doc for v in ENV_VARS}


@pytest.fixture(autouse=True)
def _own_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "an-access-key")
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
    marks = {k: exported.pop(k) for k in (ENV_PROFILE_MARK, ENV_DEFAULTS_MARK)}
    assert marks[ENV_PROFILE_MARK] == from_json["TELEMETRY_PROFILE"]
    pyiceberg_only = {k: v for k, v in exported.items() if k not in from_json}
    assert {k: v for k, v in exported.items() if k in from_json} == from_json
    assert set(pyiceberg_only) == {
        "PYICEBERG_CATALOG__TELEMETRY__TYPE",
        "PYICEBERG_CATALOG__TELEMETRY__S3__ENDPOINT",
        "PYICEBERG_CATALOG__TELEMETRY__S3__REGION",
        "PYICEBERG_CATALOG__TELEMETRY__S3__ACCESS_KEY_ID",
        "PYICEBERG_CATALOG__TELEMETRY__S3__SECRET_ACCESS_KEY",
    }
    assert (
        pyiceberg_only["PYICEBERG_CATALOG__TELEMETRY__S3__ENDPOINT"]
        == (from_json["S3_ENDPOINT_URL"])
    )
    assert (
        pyiceberg_only["PYICEBERG_CATALOG__TELEMETRY__S3__SECRET_ACCESS_KEY"]
        == (from_json["AWS_SECRET_ACCESS_KEY"])
    )


def test_the_exports_configure_pyiceberg_itself(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `eval "$(telemetry env)"`, pyiceberg's own configuration names our catalog."""
    from pyiceberg.utils.config import Config

    assert main(["env"]) == 0
    for line in capsys.readouterr().out.splitlines():
        name, _, value = shlex.split(line)[1].partition("=")
        if name.startswith("PYICEBERG_"):
            monkeypatch.setenv(name, value)
    catalog = Config().get_catalog_config("telemetry")
    assert catalog is not None
    assert catalog["type"] == "sql"
    assert catalog["uri"].startswith("sqlite:///")
    assert catalog["warehouse"] == "s3://telemetry-data/iceberg"
    assert catalog["s3.endpoint"] == "http://127.0.0.1:9000"
    assert catalog["s3.secret-access-key"] == "not minioadmin"


def test_the_exports_mark_their_profile_and_its_defaults_but_not_what_the_user_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("TELEMETRY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TELEMETRY_TOPIC", "my_topic")
    assert main(["env"]) == 0
    lines = [shlex.split(line)[1] for line in capsys.readouterr().out.splitlines()]
    exported = dict(line.partition("=")[::2] for line in lines)
    defaults = dict(entry.split(":") for entry in exported[ENV_DEFAULTS_MARK].split())
    assert "KAFKA_BOOTSTRAP_SERVERS" in defaults and "TELEMETRY_WINDOW_SECONDS" in defaults
    assert "TELEMETRY_TOPIC" not in defaults, "set by the user: no profile's default"
    assert "TELEMETRY_DATA_DIR" not in defaults
    assert "AWS_SECRET_ACCESS_KEY" not in defaults
    assert all(len(fingerprint) == 8 for fingerprint in defaults.values())


def test_describe_explains_the_marks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env", "--describe"]) == 0
    out = capsys.readouterr().out
    assert ENV_PROFILE_MARK in out and ENV_DEFAULTS_MARK in out
