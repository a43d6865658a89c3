"""Sans-I/O secure channel: framing + handshake + per-frame AEAD, bytes in and bytes out.

Interface (one object per connection, driven by any I/O adapter, see ``peer.py``):
- ``SecureChannel(role, keys, chain_id, is_authorized, *, expected_key_id=None,
  max_frame=DEFAULT_MAX_FRAME)``: an initiator queues its hello at construction.
- ``receive_data(data) -> list[bytes]``: feed bytes read from the socket; returns the decrypted
  plaintexts of the transport frames they complete. Raises ``ProtocolError`` (reason ``code``) on
  any bad input; the channel is then dead and every later call raises again. The pair
  ``push(data)`` / ``next_message() -> bytes | None`` does the same one frame at a time, so the
  good frames before a bad one can be handled before the error.
- ``send(plaintext)``: encrypts one frame (only once ``established``); raises ``ValueError`` when
  the plaintext is above ``max_plaintext``.
- ``data_to_send() -> bytes``: everything queued for the socket since the last call.
- ``established``, ``peer_key_id``, ``peer_public``, ``pending`` (bytes of an unfinished frame).

During the handshake frames are limited to ``MAX_HANDSHAKE_FRAME`` bytes; afterwards to
``max_frame`` (ciphertext, so a plaintext may be at most ``max_frame - 16`` bytes). An empty
transport frame is refused (it cannot hold an authentication tag).
"""

from __future__ import annotations

from ledger_core.crypto.keys import KeyPair
from ledger_core.net.errors import ProtocolError
from ledger_core.net.framing import DEFAULT_MAX_FRAME, FrameDecoder, encode_frame
from ledger_core.net.handshake import (
    MAX_HANDSHAKE_FRAME,
    TAG_BYTES,
    Handshake,
    HandshakeResult,
    IsAuthorized,
)


class SecureChannel:
    """One authenticated, encrypted connection as a state machine (see module docstring)."""

    def __init__(
        self,
        role: str,
        keys: KeyPair,
        chain_id: str,
        is_authorized: IsAuthorized,
        *,
        expected_key_id: str | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
    ) -> None:
        if max_frame <= TAG_BYTES:
            raise ValueError("max_frame must leave room for the authentication tag")
        self.max_frame = max_frame
        self._hs = Handshake(role, keys, chain_id, is_authorized, expected_key_id)
        self._decoder = FrameDecoder(MAX_HANDSHAKE_FRAME)
        self._out = bytearray()
        self._session: HandshakeResult | None = None
        self._error: ProtocolError | None = None
        first = self._hs.start()
        if first is not None:
            self._out += encode_frame(first)

    @property
    def established(self) -> bool:
        return self._session is not None

    @property
    def peer_key_id(self) -> str | None:
        return self._session.peer_key_id if self._session else None

    @property
    def peer_public(self) -> bytes | None:
        return self._session.peer_public if self._session else None

    @property
    def max_plaintext(self) -> int:
        return self.max_frame - TAG_BYTES

    @property
    def pending(self) -> int:
        return self._decoder.pending

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def send(self, plaintext: bytes) -> None:
        if self._error is not None:
            raise self._error
        if self._session is None:
            raise ProtocolError("not_established", "cannot send before the handshake is over")
        if len(plaintext) > self.max_plaintext:
            raise ValueError(
                f"message of {len(plaintext)} bytes exceeds the limit of {self.max_plaintext}"
            )
        self._out += encode_frame(self._session.send.encrypt(plaintext), self.max_frame)

    def receive_data(self, data: bytes) -> list[bytes]:
        self.push(data)
        out: list[bytes] = []
        while (plaintext := self.next_message()) is not None:
            out.append(plaintext)
        return out

    def push(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._decoder.push(data)

    def next_message(self) -> bytes | None:
        if self._error is not None:
            raise self._error
        try:
            return self._next()
        except ProtocolError as exc:
            self._error = exc
            raise

    def _next(self) -> bytes | None:
        dec = self._decoder
        while self._session is None:
            body = dec.next_frame()
            if body is None:
                return None
            reply = self._hs.receive(body)
            if reply is not None:
                self._out += encode_frame(reply)
            if self._hs.result is not None:
                self._session = self._hs.result
                dec.max_frame = self.max_frame
        body = dec.next_frame()
        if body is None:
            return None
        if len(body) < TAG_BYTES:
            raise ProtocolError("bad_message", "transport frame shorter than its tag")
        return self._session.recv.decrypt(body)
