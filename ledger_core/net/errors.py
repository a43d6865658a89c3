"""The one exception family of the peer network: every error carries a stable reason ``code``.

Codes used by the layers: framing ``oversized``/``closed``; handshake ``bad_message``,
``wrong_version``, ``wrong_chain``, ``bad_key``, ``bad_signature``, ``unauthorized``,
``unexpected_key``, ``unexpected_message``; channel ``decrypt_failed``, ``nonce_exhausted``,
``not_established``; peer ``bad_message:<encoding code>``, ``unknown_type``, ``rate_limited``,
``control_overflow``, ``idle_timeout``, ``handshake_timeout``; transport ``banned`` (a handshake
with a banned key). Close reasons that are not errors: ``write_timeout``, ``banned: <reason>``,
``connection_limit``, ``duplicate``, ``unauthorized``, ``eof``, ``shutdown``.
"""

from __future__ import annotations

from bedrock.errors import CodedError


class ProtocolError(CodedError):
    """The remote side broke the protocol; the connection must be closed. ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)

    def __str__(self) -> str:
        return f"{self.code}: {super().__str__()}"
