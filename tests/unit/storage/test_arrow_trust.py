"""pyarrow trusts S3_CA_LOCATION through an explicit call, never as a side effect of an import.

Each case runs in a fresh interpreter: what matters is whether pyarrow.fs was
imported yet, once per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PRELUDE = """
import json, os, sys
from telemetry.core.config import load_settings
settings = load_settings({"S3_CA_LOCATION": sys.argv[1], "TELEMETRY_DATA_DIR": sys.argv[2]})
"""


def _run(code: str, tmp_path: Path, ca: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSL_CERT_FILE": str(tmp_path / "system.pem"), "TMPDIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + code, str(ca), str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    (tmp_path / "system.pem").write_text("SYSTEM CAS\n")
    path = tmp_path / "endpoint-ca.pem"
    path.write_text("ENDPOINT CA\n")
    return path


def test_importing_the_storage_modules_leaves_ssl_cert_file_alone(tmp_path: Path, ca: Path) -> None:
    code = """
import telemetry.core.storage, telemetry.core.storage.parquet, telemetry.core.lake.catalog
print(json.dumps(os.environ["SSL_CERT_FILE"]))
"""
    result = _run(code, tmp_path, ca)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == str(tmp_path / "system.pem")


def test_trust_points_ssl_cert_file_at_the_system_cas_and_the_endpoints(
    tmp_path: Path, ca: Path
) -> None:
    code = """
from telemetry.core.storage import arrow_trust
arrow_trust.trust(settings)
import ssl, pyarrow.fs
print(json.dumps(os.environ["SSL_CERT_FILE"]))
"""
    result = _run(code, tmp_path, ca)
    assert result.returncode == 0, result.stderr
    bundle = Path(json.loads(result.stdout))
    assert bundle.parent == tmp_path
    assert bundle.read_text() == "SYSTEM CAS\n\nENDPOINT CA\n"


def test_trust_after_pyarrow_fs_was_imported_fails_naming_the_setting(
    tmp_path: Path, ca: Path
) -> None:
    code = """
import pyarrow.fs
from telemetry.core.storage import arrow_trust
arrow_trust.trust(settings)
"""
    result = _run(code, tmp_path, ca)
    assert result.returncode != 0
    assert "S3_CA_LOCATION=" in result.stderr and "arrow_trust.trust()" in result.stderr
