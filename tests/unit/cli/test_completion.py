"""Shell completion: `telemetry --print-completion bash` completes commands, choices, files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from telemetry.cli.main import main


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("completion") / "telemetry.bash"
    with pytest.MonkeyPatch.context() as patch, open(path, "w") as out:
        patch.setattr("sys.stdout", out)
        with pytest.raises(SystemExit) as exited:
            main(["--print-completion", "bash"])
    assert exited.value.code == 0
    return path


def _complete(script: Path, *words: str) -> list[str]:
    """What bash offers for the last of `words` after `telemetry`."""
    bash = shutil.which("bash")
    assert bash is not None, "bash is needed to test its completion"
    line = " ".join(["telemetry", *words])
    program = (
        f"source {script}; COMP_WORDS=(telemetry {' '.join(repr(w) for w in words)}); "
        f"COMP_CWORD={len(words)}; COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}; "
        '_shtab_telemetry; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run([bash, "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_subcommands_complete(bash_script: Path) -> None:
    assert _complete(bash_script, "lo") == ["logs"]
    assert _complete(bash_script, "schemas", "c") == ["check", "compat"]


def test_a_service_name_completes_after_logs(bash_script: Path) -> None:
    assert _complete(bash_script, "logs", "-f", "ka") == ["kafka", "kafka-1", "kafka-2", "kafka-3"]
    assert _complete(bash_script, "logs", "-f", "registry-") == ["registry-proxy"]


def test_format_choices_complete(bash_script: Path) -> None:
    assert _complete(bash_script, "status", "--format", "") == ["table", "json"]
    assert _complete(bash_script, "env", "--format", "") == ["export", "json"]


def test_schema_files_complete_as_file_names(bash_script: Path, tmp_path: Path) -> None:
    (tmp_path / "v1.avsc").write_text("{}")
    assert _complete(bash_script, "schemas", "compat", f"{tmp_path}/v") == [f"{tmp_path}/v1.avsc"]
