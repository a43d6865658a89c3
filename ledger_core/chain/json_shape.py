"""Small declarative checkers for ledger JSON objects (genesis entries, transaction payloads).

A checker is a callable `(value, path) -> None` that raises SchemaError naming the bad field.
Objects reject unknown keys, so nothing unchecked reaches signed or stored data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bedrock.canonical import canonical
from bedrock.errors import CodedError

Checker = Callable[[Any, str], None]

HEX64 = re.compile(r"[0-9a-f]{64}")
HEX128 = re.compile(r"[0-9a-f]{128}")
SLUG = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]*")

ROLES = ("operator", "trainer", "auditor", "monitor", "validator")
BUSINESS_ROLES = ROLES[:4]
KINDS = ("expert", "node", "device")


class SchemaError(CodedError, ValueError):
    """A JSON object does not have the expected form; the message names the field."""

    code = "bad_schema"


def fail(path: str, what: str) -> None:
    raise SchemaError(f"{path or 'value'}: {what}")


def Str(max_len: int = 200, min_len: int = 1, pattern: re.Pattern[str] | None = PRINTABLE) -> Checker:
    def check(v: Any, path: str) -> None:
        if type(v) is not str:
            fail(path, "must be a string")
        if not min_len <= len(v) <= max_len:
            fail(path, f"must have {min_len} to {max_len} characters")
        if pattern is not None and not pattern.fullmatch(v):
            fail(path, "has characters that are not allowed")

    return check


def Int(lo: int, hi: int) -> Checker:
    def check(v: Any, path: str) -> None:
        if type(v) is not int:
            fail(path, "must be an integer")
        if not lo <= v <= hi:
            fail(path, f"must be between {lo} and {hi}")

    return check


def Bool(v: Any, path: str) -> None:
    if type(v) is not bool:
        fail(path, "must be true or false")


def Enum(*values: str) -> Checker:
    def check(v: Any, path: str) -> None:
        if v not in values or type(v) is not str:
            fail(path, f"must be one of {', '.join(values)}")

    return check


Hex64 = Str(64, 64, HEX64)
Hex128 = Str(128, 128, HEX128)
Slug = Str(64, 1, SLUG)
Name = Str(100)


def Nullable(inner: Checker) -> Checker:
    def check(v: Any, path: str) -> None:
        if v is not None:
            inner(v, path)

    return check


def List(item: Checker, max_len: int, min_len: int = 0, unique: bool = False) -> Checker:
    def check(v: Any, path: str) -> None:
        if type(v) is not list:
            fail(path, "must be a list")
        if not min_len <= len(v) <= max_len:
            fail(path, f"must have {min_len} to {max_len} entries")
        for i, x in enumerate(v):
            item(x, f"{path}[{i}]")
        if unique and len({canonical(x) for x in v}) != len(v):
            fail(path, "has duplicate entries")

    return check


class Optional:
    """Marks an object field that may be absent."""

    def __init__(self, inner: Checker) -> None:
        self.inner = inner


def Obj(fields: dict[str, Checker | Optional]) -> Checker:
    required = frozenset(k for k, c in fields.items() if not isinstance(c, Optional))
    checks = {k: (c.inner if isinstance(c, Optional) else c) for k, c in fields.items()}

    def check(v: Any, path: str) -> None:
        if type(v) is not dict:
            fail(path, "must be an object")
        for k, x in v.items():
            c = checks.get(k)
            if c is None:
                fail(path, f"unknown field {k!r}")
            c(x, f"{path}.{k}" if path else k)
        if len(v) < len(required) or not required.issubset(v):
            fail(path, f"missing field {sorted(required - set(v))[0]!r}")

    return check


def Map(key: Checker, value: Checker, max_len: int) -> Checker:
    def check(v: Any, path: str) -> None:
        if type(v) is not dict:
            fail(path, "must be an object")
        if len(v) > max_len:
            fail(path, f"must have at most {max_len} entries")
        for k, x in v.items():
            key(k, f"{path} key")
            value(x, f"{path}.{k}")

    return check


def Bounded(max_bytes: int) -> Checker:
    """Any canonical JSON object up to a size (kind-specific facts checked by their owners)."""

    def check(v: Any, path: str) -> None:
        if type(v) is not dict:
            fail(path, "must be an object")
        if len(canonical(v)) > max_bytes:
            fail(path, f"must be at most {max_bytes} bytes of canonical JSON")

    return check


def Roles(allowed: tuple[str, ...] = ROLES) -> Checker:
    return List(Enum(*allowed), len(allowed), 0, unique=True)


PARTICIPANT = Obj(
    {
        "key_id": Hex64,
        "public_key": Hex64,
        "name": Name,
        "kind": Enum(*KINDS),
        "roles": Roles(),
    }
)
