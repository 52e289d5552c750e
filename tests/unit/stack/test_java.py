"""Finding a JDK: the right one, or a one-line error that says the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry.core.errors import ServiceError
from telemetry.ops.host.java import find_java


def _fake_jdk(root: Path, version: str) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "java").write_text("#!/bin/sh\n")
    (root / "release").write_text(f'JAVA_VERSION="{version}"\n')
    return root


def test_a_preferred_jdk_that_is_new_enough_wins(tmp_path: Path) -> None:
    home = _fake_jdk(tmp_path / "jdk-21", "21.0.4")
    assert find_java(21, str(home)) == home / "bin" / "java"


def test_too_old_java_everywhere_gives_one_line_naming_version_and_variable(
    tmp_path: Path,
) -> None:
    home = _fake_jdk(tmp_path / "jdk-11", "11.0.2")
    with pytest.raises(ServiceError) as excinfo:
        find_java(99, str(home), "Apicurio Registry")
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith("Java 99+ is needed for Apicurio Registry; found 11 at ")
    assert message.endswith("Install a JDK 99+ and set APICURIO_JAVA_HOME to it")
