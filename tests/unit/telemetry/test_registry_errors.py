"""Registry errors are one line with the URL and the fix."""

from __future__ import annotations

import socket

import pytest

from telemetry.cli.main import main
from telemetry.core.errors import InvalidInputError, RegistryError
from telemetry.core.registry import connect


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_registry_is_one_line_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/apis/ccompat/v7"
    assert main(["schemas", "register", "--registry", url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"schema registry at {url} is unreachable" in err and "make up" in err


def test_probe_of_an_unreachable_registry_says_no() -> None:
    registry = connect(url=f"http://127.0.0.1:{free_port()}", timeout=1.0, retries=0)
    assert registry.reachable() is False
    with pytest.raises(RegistryError, match="unreachable"):
        registry.subjects()


def test_registry_url_must_be_http_else_it_is_bad_input() -> None:
    with pytest.raises(
        InvalidInputError, match=r"registry URL 'ftp://example' is not an http\(s\) URL"
    ) as info:
        connect(url="ftp://example")
    assert info.value.exit_code == 2
