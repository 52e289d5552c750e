"""What `make setup` fetches for the live page (uPlot) and its browser test (Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry.core.config import load_settings
from telemetry.core.errors import ServiceError
from telemetry.ops.host.layout import Layout
from telemetry.ops.stack import web
from telemetry.ops.stack.web import CHROMIUM_PACKAGES, UPLOT_FILES, Chromium, fetch_uplot


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout.of(load_settings({"TELEMETRY_CACHE_DIR": str(tmp_path)}))


def test_uplot_in_the_cache_is_used_without_npm(layout: Layout, monkeypatch) -> None:
    layout.uplot_dist.mkdir(parents=True)
    for name in UPLOT_FILES:
        (layout.uplot_dist / name).write_text("/* uPlot */")
    monkeypatch.setattr(web, "run_step", lambda *a, **k: pytest.fail("npm ran"))
    assert fetch_uplot(layout, print) == layout.uplot_dist


def test_without_npm_setup_fails_in_one_line_saying_how_to_fix_it(layout, monkeypatch) -> None:
    monkeypatch.setattr(web.shutil, "which", lambda _name: None)
    with pytest.raises(ServiceError) as caught:
        fetch_uplot(layout, print)
    assert "npm is not installed" in str(caught.value) and "make setup" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_failed_npm_fetch_is_one_line_with_its_log(layout, monkeypatch) -> None:
    def failing(*_args, **_kwargs):
        raise ServiceError("failed to fetch (exit 1); ...\nlast lines\nE404")

    monkeypatch.setattr(web.shutil, "which", lambda _name: "/usr/bin/npm")
    monkeypatch.setattr(web, "run_step", failing)
    with pytest.raises(ServiceError) as caught:
        fetch_uplot(layout, print)
    message = str(caught.value)
    assert message.startswith("npm could not fetch uplot@") and "\n" not in message
    assert "uplot-" in message and "make setup" in message


def test_chromium_counts_as_fetched_only_from_todays_package_list(tmp_path: Path) -> None:
    chromium = Chromium(tmp_path)
    assert chromium.version == ""
    (tmp_path / ".complete").write_text("Chromium 156\nchromium\n")
    assert chromium.version == ""  # fetched from an older list: fetched again
    (tmp_path / ".complete").write_text("\n".join(("Chromium 156", *CHROMIUM_PACKAGES)) + "\n")
    assert chromium.version == "Chromium 156"


def test_chromium_runs_with_its_unpacked_libraries_first(tmp_path: Path) -> None:
    env = Chromium(tmp_path).env({"LD_LIBRARY_PATH": "/opt/lib", "HOME": "/root"})
    first, *rest = env["LD_LIBRARY_PATH"].split(":")
    assert first.startswith(str(tmp_path / "usr" / "lib")) and rest[-1] == "/opt/lib"
    assert env["HOME"] == "/root"
