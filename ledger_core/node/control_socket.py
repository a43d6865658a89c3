"""The node's control socket `<data-dir>/node.sock`: its messages and its server.

Wire: each request and each answer is one frame of `ledger_core.net.framing` (a 4-byte
big-endian length, then the body) holding one canonical JSON object, at most `MAX_FRAME` bytes.
`encode_message` / `decode_message` are the pure codec; `read_message` (asyncio stream) and
`read_message_sync` (blocking socket) read exactly one frame, driven by the frame decoder's
`needed`, so nothing past the frame is consumed. Every frame problem is a framing `FrameError`
(codes: `oversized`, `truncated`, `not_object`, or the canonical-JSON `EncodingError` code).

`ControlServer` is the owner-only unix socket: one task per client, its requests answered in
order by the `handle` coroutine it is given; a bad frame gets one `bad_frame` answer and the
connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bedrock.canonical import EncodingError, canonical, decode
from ledger_core.net.framing import FrameDecoder, FrameError, encode_frame
from ledger_core.node.errors import NodeError

MAX_FRAME = 32 * 1024 * 1024
STREAM_LIMIT = 2**20

__all__ = [
    "MAX_FRAME",
    "ControlServer",
    "FrameError",
    "decode_message",
    "encode_message",
    "read_message",
    "read_message_sync",
]


def encode_message(obj: Any) -> bytes:
    """One frame holding the canonical JSON of `obj`; FrameError when above `MAX_FRAME`."""
    return encode_frame(canonical(obj), MAX_FRAME)


def decode_message(body: bytes) -> dict[str, Any]:
    """A frame body to its JSON object; FrameError unless it is one canonical JSON object."""
    try:
        obj = decode(body, max_bytes=MAX_FRAME)
    except EncodingError as exc:
        raise FrameError(exc.code, str(exc)) from None
    if type(obj) is not dict:
        raise FrameError("not_object", "a frame must hold a JSON object")
    return obj


async def read_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message, or None at a clean end of stream (before a frame starts)."""
    frames = FrameDecoder(MAX_FRAME)
    while (body := frames.next_frame()) is None:
        try:
            frames.push(await reader.readexactly(frames.needed))
        except asyncio.IncompleteReadError as exc:
            if not exc.partial and not frames.pending:
                return None
            raise FrameError("truncated", "the stream ended inside a frame") from None
    return decode_message(body)


def read_message_sync(sock: socket.socket) -> dict[str, Any]:
    """The next message from a blocking socket; ConnectionError when the peer closes first."""
    frames = FrameDecoder(MAX_FRAME)
    while (body := frames.next_frame()) is None:
        chunk = sock.recv(frames.needed)
        if not chunk:
            raise ConnectionError("the node closed the connection")
        frames.push(chunk)
    return decode_message(body)


Handle = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlServer:
    """The unix socket at `path` (mode 0600), answering each request with `handle(request)`
    until `stopping` is set."""

    def __init__(self, path: Path, handle: Handle, stopping: asyncio.Event) -> None:
        self.path = Path(path)
        self._handle = handle
        self._stopping = stopping
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Listen; NodeError when another node answers on the path or it cannot be bound. A
        stale socket file (a crashed node; the caller holds the data directory lock) is removed."""
        path = self.path
        if path.exists() or path.is_symlink():
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(str(path))
            except OSError:
                path.unlink()
            else:
                raise NodeError(f"a node already serves {path}")
            finally:
                probe.close()
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._client, path=str(path), limit=STREAM_LIMIT
            )
        except OSError as exc:  # e.g. a path longer than the ~107 bytes a unix socket allows
            raise NodeError(f"cannot listen on {path}: {exc.strerror or exc}") from None
        finally:
            os.umask(old)
        os.chmod(path, 0o600)

    def close(self) -> None:
        """Stop accepting connections (the socket file stays until `remove`)."""
        if self._server is not None:
            self._server.close()

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while not self._stopping.is_set():
                req = await read_message(reader)
                if req is None:
                    break
                writer.write(encode_message(await self._handle(req)))
                await writer.drain()
        except FrameError as exc:
            with contextlib.suppress(Exception):
                bad = {"ok": False, "code": "bad_frame", "message": str(exc)}
                writer.write(encode_message(bad))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
