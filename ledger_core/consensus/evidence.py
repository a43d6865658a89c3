"""Evidence of double signing: two different signed messages from one validator for the
same height, round and step (two prevotes, two precommits or two proposals).

Serialised as canonical JSON:
    {"type": "double_sign", "a": <signed message>, "b": <signed message>}
with the two messages in a fixed order (by their canonical bytes) and proposal payloads
dropped (the signatures do not cover them), so one offence has exactly one encoding.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bedrock.canonical import EncodingError, canonical, decode, digest_hex
from bedrock.errors import CodedError
from ledger_core.crypto.keys import verify_raw

from .messages import MessageError, Signed, from_wire
from .validators import ValidatorSet

MAX_EVIDENCE_BYTES = 8 * 1024


class EvidenceError(CodedError, ValueError):
    """Evidence that does not prove a double sign. `code` is a stable reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True, slots=True)
class DoubleSign:
    a: Signed
    b: Signed

    @classmethod
    def of(cls, first: Signed, second: Signed) -> DoubleSign:
        """Build (in canonical order) and check the structure; raises EvidenceError."""
        x, y = first.without_payload(), second.without_payload()
        if x.encode() > y.encode():
            x, y = y, x
        ev = cls(x, y)
        ev.check_structure()
        return ev

    @property
    def validator(self) -> str:
        return self.a.validator

    @property
    def height(self) -> int:
        return self.a.height

    @property
    def round(self) -> int:
        return self.a.round

    @property
    def step(self) -> str:
        return self.a.type

    def check_structure(self) -> None:
        a, b = self.a, self.b
        if a.chain_id != b.chain_id:
            raise EvidenceError("mixed_chain", "the two messages are for different chains")
        if a.validator != b.validator:
            raise EvidenceError("two_signers", "the two messages have different signers")
        if (a.type, a.height, a.round) != (b.type, b.height, b.round):
            raise EvidenceError(
                "different_position", "the messages differ in height, round or step"
            )
        if a.body == b.body:
            raise EvidenceError("same_message", "the two messages are the same")

    def verify(
        self, validators: ValidatorSet, verify: Callable[[bytes, bytes, bytes], bool] = verify_raw
    ) -> None:
        """Check that this proves a double sign by a member of `validators` (that height's set)."""
        self.check_structure()
        if self.validator not in validators:
            raise EvidenceError("unknown_validator", "the signer is not in the validator set")
        pub = validators.public_key(self.validator)
        for m in (self.a, self.b):
            if not verify(pub, m.signature, m.sign_bytes()):
                raise EvidenceError("bad_signature", "a signature in the evidence is invalid")

    def to_json(self) -> dict[str, Any]:
        return {"type": "double_sign", "a": self.a.to_wire(), "b": self.b.to_wire()}

    def encode(self) -> bytes:
        return canonical(self.to_json())

    @property
    def id(self) -> str:
        return digest_hex(self.to_json())

    @classmethod
    def decode(cls, data: bytes, chain_id: str) -> DoubleSign:
        try:
            obj = decode(data, max_bytes=MAX_EVIDENCE_BYTES)
        except EncodingError as exc:
            raise EvidenceError(exc.code, str(exc)) from None
        ev = cls.from_json(obj, chain_id)
        if ev.encode() != bytes(data):
            raise EvidenceError("not_canonical", "evidence is not in canonical form")
        return ev

    @classmethod
    def from_json(cls, obj: Any, chain_id: str) -> DoubleSign:
        """Evidence from its JSON object (as `to_json`, or as a peer sent it); the structure is
        checked, the signatures are not (see `verify`)."""
        if (
            type(obj) is not dict
            or obj.keys() != {"type", "a", "b"}
            or obj["type"] != "double_sign"
        ):
            raise EvidenceError("bad_type", "not a double_sign evidence object")
        try:
            a, b = from_wire(obj["a"], chain_id), from_wire(obj["b"], chain_id)
        except MessageError as exc:
            raise EvidenceError(exc.code, str(exc)) from None
        return cls.of(a, b)


class EvidencePool:
    """Verified double-sign evidence, one entry per (validator, height, round, step), bounded."""

    def __init__(self, max_items: int = 10_000) -> None:
        self._items: OrderedDict[tuple[str, int, int, str], DoubleSign] = OrderedDict()
        self._max = max_items

    def add(self, ev: DoubleSign) -> bool:
        """Keep `ev` unless that offence is already known; True when it is new."""
        k = (ev.validator, ev.height, ev.round, ev.step)
        if k in self._items:
            return False
        self._items[k] = ev
        if len(self._items) > self._max:
            self._items.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[DoubleSign]:
        return iter(self._items.values())

    def by_validator(self, kid: str) -> list[DoubleSign]:
        return [e for e in self._items.values() if e.validator == kid]
