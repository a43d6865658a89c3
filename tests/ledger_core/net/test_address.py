"""HOST:PORT parsing for --listen and --peer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_core.net.address import format_address, parse_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:7000", ("127.0.0.1", 7000)),
        ("node-2.plant.local:26656", ("node-2.plant.local", 26656)),
        ("[::1]:7000", ("::1", 7000)),
        (" 10.0.0.5:0 ", ("10.0.0.5", 0)),
    ],
)
def test_valid(text, expected) -> None:
    assert parse_address(text) == expected


def test_default_port() -> None:
    assert parse_address("host", default_port=7000) == ("host", 7000)
    assert parse_address("[fe80::1]", default_port=1) == ("fe80::1", 1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "host",
        ":7000",
        "host:",
        "host:70000",
        "host:-1",
        "host:x",
        "::1:7000",
        "[::1",
        "[nope]:1",
        "[::1]7000",
    ],
)
def test_invalid(text) -> None:
    with pytest.raises(ValueError):
        parse_address(text)


@given(st.text(max_size=40))
def test_never_crashes_otherwise(text: str) -> None:
    try:
        host, port = parse_address(text)
    except ValueError:
        return
    assert 0 <= port <= 65535 and host


@given(st.ip_addresses(), st.integers(0, 65535))
def test_round_trip(ip, port: int) -> None:
    assert parse_address(format_address(str(ip), port)) == (str(ip), port)
