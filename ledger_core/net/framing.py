"""Sans-I/O length-prefixed frame codec: a 4-byte big-endian length, then that many bytes.

Interface:
- ``encode_frame(body, max_frame=DEFAULT_MAX_FRAME) -> bytes``: header + body; raises
  ``FrameError("oversized")`` when the body is longer than ``max_frame``.
- ``FrameDecoder(max_frame=DEFAULT_MAX_FRAME)``:
  ``feed(data) -> list[bytes]`` returns every frame completed by ``data`` (in order) and keeps the
  rest buffered. The lower-level pair ``push(data)`` / ``next_frame() -> bytes | None`` lets a
  caller change ``max_frame`` between frames (the secure channel allows only small frames during
  the handshake). ``pending`` is the number of buffered bytes (non-zero at EOF: a truncated frame).
  ``needed`` is how many more bytes the next frame wants (the header's, then the body's), so an
  adapter over a blocking or exact-read stream can read one frame and nothing past it.
  A length above ``max_frame`` raises ``FrameError("oversized")`` as soon as the 4 header bytes
  are in, before any body is buffered; the decoder then refuses further use
  (``FrameError("closed")``): a connection that sent a bad frame is dead.

Zero-length frames are valid at this layer; the layers above give them a meaning or refuse them.
"""

from __future__ import annotations

from ledger_core.net.errors import ProtocolError

HEADER_BYTES = 4
DEFAULT_MAX_FRAME = 4 * 1024 * 1024
_ABSOLUTE_MAX = 2**32 - 1
_COMPACT_AT = 64 * 1024


class FrameError(ProtocolError):
    """A frame that breaks the codec rules (``code``: ``oversized`` or ``closed``)."""


def _check_max(max_frame: int) -> int:
    if not 0 <= max_frame <= _ABSOLUTE_MAX:
        raise ValueError(f"max_frame must be between 0 and {_ABSOLUTE_MAX}")
    return max_frame


def encode_frame(body: bytes, max_frame: int = DEFAULT_MAX_FRAME) -> bytes:
    """The frame for ``body``: 4-byte big-endian length followed by the body."""
    n = len(body)
    if n > _check_max(max_frame):
        raise FrameError("oversized", f"frame body of {n} bytes exceeds the limit of {max_frame}")
    return n.to_bytes(HEADER_BYTES, "big") + bytes(body)


class FrameDecoder:
    """Feed it stream bytes in any split; it returns the complete frame bodies."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self._max_frame = _check_max(max_frame)
        self._buf = bytearray()
        self._pos = 0
        self._failed: FrameError | None = None

    @property
    def max_frame(self) -> int:
        return self._max_frame

    @max_frame.setter
    def max_frame(self, value: int) -> None:
        self._max_frame = _check_max(value)

    @property
    def pending(self) -> int:
        """Bytes buffered that do not yet form a complete frame."""
        return len(self._buf) - self._pos

    @property
    def needed(self) -> int:
        """Bytes still missing from the next frame: the rest of its header, then the rest of its
        body; 0 when ``next_frame`` can return it (or refuse its length)."""
        have = self.pending
        if have < HEADER_BYTES:
            return HEADER_BYTES - have
        length = int.from_bytes(self._buf[self._pos : self._pos + HEADER_BYTES], "big")
        if length > self._max_frame:
            return 0
        return max(0, HEADER_BYTES + length - have)

    def _check_open(self) -> None:
        if self._failed is not None:
            raise FrameError("closed", f"decoder already failed ({self._failed})")

    def push(self, data: bytes) -> None:
        self._check_open()
        if self._pos >= _COMPACT_AT or self._pos == len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def next_frame(self) -> bytes | None:
        """The next complete frame body, or None when more bytes are needed."""
        self._check_open()
        buf, pos = self._buf, self._pos
        if len(buf) - pos < HEADER_BYTES:
            return None
        length = int.from_bytes(buf[pos : pos + HEADER_BYTES], "big")
        if length > self._max_frame:
            self._failed = FrameError(
                "oversized", f"frame length {length} exceeds the limit of {self._max_frame}"
            )
            self._buf = bytearray()
            self._pos = 0
            raise self._failed
        start = pos + HEADER_BYTES
        if len(buf) - start < length:
            return None
        self._pos = start + length
        return bytes(buf[start : self._pos])

    def feed(self, data: bytes) -> list[bytes]:
        self.push(data)
        frames: list[bytes] = []
        while (frame := self.next_frame()) is not None:
            frames.append(frame)
        return frames
