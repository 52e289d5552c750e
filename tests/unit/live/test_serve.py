"""`telemetry live` before it serves: the port, the options, one-line errors."""

from __future__ import annotations

import socket

import pytest

from telemetry.cli.main import build_parser, main
from telemetry.core.errors import InvalidInputError
from telemetry.ops.live.launch import bind, url


def test_a_port_in_use_is_one_line_naming_the_port_and_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(InvalidInputError) as caught:
            bind("127.0.0.1", port)
    message = str(caught.value)
    assert f"port {port} on 127.0.0.1 is in use" in message
    assert "--port" in message and "\n" not in message


def test_a_free_port_is_bound_and_listening() -> None:
    sock = bind("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        sock.close()


def test_the_url_printed_is_the_page() -> None:
    assert url("127.0.0.1", 8090) == "http://127.0.0.1:8090/"
    assert url("::1", 8090) == "http://[::1]:8090/"


def test_options_default_to_the_settings_and_refuse_bad_ports(capsys) -> None:
    args = build_parser().parse_args(["live"])
    assert (args.host, args.port, args.job) == ("127.0.0.1", None, "telemetry-windows")
    with pytest.raises(SystemExit) as exit_:
        main(["live", "--port", "70000"])
    assert exit_.value.code == 2
    assert "not a port number" in capsys.readouterr().err
