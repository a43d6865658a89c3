"""Canonical JSON (RFC 8785 style) and SHA-256 digests: the one encoding of every signed,
hashed or certified object, in the ledger and in inspection artefacts alike.

Only dicts with ASCII string keys, lists, strings, 64-bit integers, booleans and null are
allowed: no floats anywhere in signed data. With ASCII keys, Python's key sort is the
RFC 8785 (UTF-16 code unit) order.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bedrock.errors import CodedError

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
MAX_DEPTH = 32
DEFAULT_MAX_BYTES = 1024 * 1024


class EncodingError(CodedError, ValueError):
    """Input that is not canonical JSON of the allowed types. `code` is a stable reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def check_value(obj: Any, depth: int = 0) -> None:
    """Raise EncodingError unless `obj` is made only of the allowed types.

    Lone surrogates in strings are caught when encoding to UTF-8 (see `canonical`)."""
    if depth > MAX_DEPTH:
        raise EncodingError("too_deep", f"nesting deeper than {MAX_DEPTH}")
    t = type(obj)
    if t is str or obj is None or t is bool:
        return
    if t is int:
        if not INT_MIN <= obj <= INT_MAX:
            raise EncodingError("int_range", "integer outside the signed 64-bit range")
    elif t is dict:
        for k, v in obj.items():
            if type(k) is not str or not k.isascii():
                raise EncodingError("bad_key", "object keys must be ASCII strings")
            if type(v) is not str:
                check_value(v, depth + 1)
    elif t is list or t is tuple:
        for v in obj:
            if type(v) is not str:
                check_value(v, depth + 1)
    elif t is float:
        raise EncodingError("float", "floats are not allowed in canonical JSON (use scaled integers)")
    else:
        raise EncodingError("bad_type", f"type {t.__name__} is not allowed in canonical JSON")


def _dumps(obj: Any) -> bytes:
    try:
        return json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except UnicodeEncodeError:
        raise EncodingError("bad_string", "string is not valid Unicode") from None


def canonical(obj: Any, checked: bool = False) -> bytes:
    """The canonical UTF-8 bytes of `obj`: sorted keys, no insignificant white space.
    `checked=True` skips the type walk for values that `decode` or `check_value` already passed."""
    if not checked:
        check_value(obj)
    return _dumps(obj)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise EncodingError("duplicate_key", f"duplicate key {k!r}")
        out[k] = v
    return out


def _reject_float(text: str) -> Any:
    raise EncodingError("float", f"number {text[:20]} is not an integer")


def _reject_constant(text: str) -> Any:
    raise EncodingError("bad_number", f"{text} is not allowed")


def decode(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, require_canonical: bool = True) -> Any:
    """Parse JSON bytes strictly; with require_canonical, the bytes must be exactly canonical."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise EncodingError("bad_type", "input must be bytes")
    if len(data) > max_bytes:
        raise EncodingError("too_large", f"{len(data)} bytes exceeds the limit of {max_bytes}")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise EncodingError("bad_utf8", "input is not valid UTF-8") from None
    try:
        obj = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_reject_float,
            parse_constant=_reject_constant,
        )
    except EncodingError:
        raise
    except RecursionError:
        raise EncodingError("too_deep", "nesting too deep") from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise EncodingError("bad_json", f"not valid JSON: {exc}") from None
    check_value(obj)
    if require_canonical and _dumps(obj) != bytes(data):
        raise EncodingError("not_canonical", "JSON is valid but not in canonical form")
    return obj


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def digest_hex(obj: Any) -> str:
    """Hex SHA-256 of the canonical encoding of `obj`."""
    return hashlib.sha256(canonical(obj)).hexdigest()

