"""Control-socket framing: a 4-byte big-endian length, then one canonical JSON object."""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

from bedrock.canonical import EncodingError, canonical, decode

MAX_FRAME = 32 * 1024 * 1024
_LEN = struct.Struct(">I")


class FrameError(ValueError):
    """A frame that is too large, truncated, or not canonical JSON."""


def encode_frame(obj: Any) -> bytes:
    data = canonical(obj)
    if len(data) > MAX_FRAME:
        raise FrameError(f"frame of {len(data)} bytes exceeds {MAX_FRAME}")
    return _LEN.pack(len(data)) + data


def decode_payload(data: bytes) -> dict[str, Any]:
    try:
        obj = decode(data, max_bytes=MAX_FRAME)
    except EncodingError as exc:
        raise FrameError(f"{exc.code}: {exc}") from None
    if type(obj) is not dict:
        raise FrameError("a frame must hold a JSON object")
    return obj


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next frame, or None at a clean end of stream."""
    try:
        head = await reader.readexactly(4)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise FrameError("truncated frame header") from None
    (n,) = _LEN.unpack(head)
    if n > MAX_FRAME:
        raise FrameError(f"frame of {n} bytes exceeds {MAX_FRAME}")
    try:
        data = await reader.readexactly(n)
    except asyncio.IncompleteReadError:
        raise FrameError("truncated frame") from None
    return decode_payload(data)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the node closed the connection")
        buf += chunk
    return bytes(buf)


def read_frame_sync(sock: socket.socket) -> dict[str, Any]:
    (n,) = _LEN.unpack(_recv_exact(sock, 4))
    if n > MAX_FRAME:
        raise FrameError(f"frame of {n} bytes exceeds {MAX_FRAME}")
    return decode_payload(_recv_exact(sock, n))
