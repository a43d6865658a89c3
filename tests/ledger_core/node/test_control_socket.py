"""The control socket's wire: net.framing frames of canonical JSON, byte for byte as before
(4-byte big-endian length + canonical JSON), read exactly one frame at a time by the asyncio and
the blocking reader, with the one FrameError of net.framing for every bad frame."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from bedrock.canonical import canonical
from ledger_core.net.framing import FrameError
from ledger_core.node import control_socket as cs

OBJ = {"op": "submit_batch", "txs": [{"b": 1, "a": "é"}], "wait": True}


def test_encoding_is_length_then_canonical_json():
    body = canonical(OBJ)
    assert cs.encode_message(OBJ) == struct.pack(">I", len(body)) + body
    assert cs.decode_message(body) == OBJ


@pytest.mark.parametrize(
    "body, code",
    [(b'{ "op": 1 }', "not_canonical"), (b"[1]", "not_object"), (b"\xff", None)],
)
def test_bad_bodies_raise_frame_error(body, code):
    with pytest.raises(FrameError) as err:
        cs.decode_message(body)
    if code:
        assert err.value.code == code


def test_the_limit_is_32_mib(monkeypatch):
    assert cs.MAX_FRAME == 32 * 1024 * 1024
    monkeypatch.setattr(cs, "MAX_FRAME", 10)
    with pytest.raises(FrameError) as err:
        cs.encode_message(OBJ)
    assert err.value.code == "oversized"


def _reader(data: bytes) -> asyncio.StreamReader:
    r = asyncio.StreamReader()
    r.feed_data(data)
    r.feed_eof()
    return r


def test_async_reads_one_frame_at_a_time_then_none_at_eof():
    async def go():
        r = _reader(cs.encode_message(OBJ) + cs.encode_message({"ok": True}))
        return [await cs.read_message(r) for _ in range(3)]

    assert asyncio.run(go()) == [OBJ, {"ok": True}, None]


@pytest.mark.parametrize("cut", [2, 4, 9])
def test_async_truncated_frame(cut):
    async def go():
        await cs.read_message(_reader(cs.encode_message(OBJ)[:cut]))

    with pytest.raises(FrameError) as err:
        asyncio.run(go())
    assert err.value.code == "truncated"


def test_async_oversized_length_is_refused_before_the_body():
    async def go():
        await cs.read_message(_reader(struct.pack(">I", cs.MAX_FRAME + 1) + b"x"))

    with pytest.raises(FrameError) as err:
        asyncio.run(go())
    assert err.value.code == "oversized"


def test_blocking_reader_takes_one_frame_and_sees_a_close():
    a, b = socket.socketpair()
    try:
        a.sendall(cs.encode_message(OBJ) + cs.encode_message({"ok": True}))
        assert cs.read_message_sync(b) == OBJ
        assert cs.read_message_sync(b) == {"ok": True}
        a.close()
        with pytest.raises(ConnectionError):
            cs.read_message_sync(b)
    finally:
        a.close()
        b.close()
