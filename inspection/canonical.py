"""Canonical JSON and SHA-256 digests for inspection artefacts (cards, configs, records).

`inspection/` may not import `ledger_core/`, so this is the same rule as
`ledger_core.encoding.canonical` (sorted ASCII keys, no white space, integers only, no floats),
kept byte-identical by a test that compares both on the same inputs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

INT_LIMIT = 2**63


class CanonicalError(ValueError):
    """A value that canonical JSON does not allow (floats, non-ASCII keys, other types)."""


def _check(obj: Any, depth: int = 0) -> None:
    if depth > 32:
        raise CanonicalError("nesting deeper than 32")
    if obj is None or obj is True or obj is False or type(obj) is str:
        return
    t = type(obj)
    if t is int:
        if not -INT_LIMIT <= obj < INT_LIMIT:
            raise CanonicalError("integer outside the signed 64-bit range")
    elif t is dict:
        for k, v in obj.items():
            if type(k) is not str or not k.isascii():
                raise CanonicalError("object keys must be ASCII strings")
            _check(v, depth + 1)
    elif t is list or t is tuple:
        for v in obj:
            _check(v, depth + 1)
    elif t is float:
        raise CanonicalError("floats are not allowed in canonical JSON (use scaled integers)")
    else:
        raise CanonicalError(f"type {t.__name__} is not allowed in canonical JSON")


def canonical(obj: Any) -> bytes:
    """The canonical UTF-8 bytes of `obj`."""
    _check(obj)
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def digest_hex(obj: Any) -> str:
    """Hex SHA-256 of the canonical encoding of `obj`."""
    return hashlib.sha256(canonical(obj)).hexdigest()
