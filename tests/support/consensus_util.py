"""Shared helpers for the consensus tests: four fixed validator keys and message makers."""

from __future__ import annotations

from bedrock.canonical import digest_hex, sha256
from ledger_core.consensus import (
    PRECOMMIT,
    PREVOTE,
    GuardedSigner,
    MemoryStore,
    Proposal,
    Signed,
    Tendermint,
    TimeoutConfig,
    ValidatorSet,
    Value,
    Vote,
)
from ledger_core.consensus.messages import sign
from ledger_core.crypto.keys import KeyPair

CHAIN = "test-chain"
KEYS = [KeyPair.from_seed(sha256(f"consensus-test-{i}".encode())) for i in range(4)]
VS = ValidatorSet([k.public_raw for k in KEYS])
TIMEOUTS = TimeoutConfig(100, 10, 50, 5, 60, 6)


def value(tag: str) -> Value:
    payload = {"tag": tag}
    return Value(digest_hex(payload), payload)


def valid(v: Value) -> bool:
    return (
        isinstance(v.payload, dict)
        and digest_hex(v.payload) == v.block_id
        and v.payload.get("tag") != "bad"
    )


def bad_value() -> Value:
    return value("bad")


def proposer_of(h: int, r: int) -> int:
    return VS.index[VS.proposer(h, r)]


def proposal(i: int, h: int, r: int, v: Value, vr: int = -1) -> Signed:
    return sign(CHAIN, Proposal(h, r, v.block_id, vr), KEYS[i].key_id, KEYS[i].sign, v.payload)


def prevote(i: int, h: int, r: int, v: Value | None) -> Signed:
    return sign(
        CHAIN, Vote(PREVOTE, h, r, None if v is None else v.block_id), KEYS[i].key_id, KEYS[i].sign
    )


def precommit(i: int, h: int, r: int, v: Value | None) -> Signed:
    return sign(
        CHAIN,
        Vote(PRECOMMIT, h, r, None if v is None else v.block_id),
        KEYS[i].key_id,
        KEYS[i].sign,
    )


def machine(
    me: int, store: MemoryStore | None = None, cls: type[Tendermint] = Tendermint
) -> Tendermint:
    signer = GuardedSigner(KEYS[me], CHAIN, store if store is not None else MemoryStore())
    return cls(CHAIN, VS, signer, lambda h: value(f"from-{me}-at-{h}"), valid, TIMEOUTS)


def others(me: int) -> list[int]:
    return [i for i in range(4) if i != me]
