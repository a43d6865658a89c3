"""Hostile values and peer messages, drawn from a seeded `random.Random` (no hypothesis: the
product ships without it; tests drive these functions with hypothesis seeds).

Everything returned is canonical-JSON material (ASCII keys, 64-bit integers, nesting within
`bedrock.canonical.MAX_DEPTH` once wrapped in a message), so the transport sends it and the
receiver's handlers, not its decoder, meet it. The shapes are the real ones of the peer protocol
(`cons`, `txs`, `status`, `get_blocks`, `blocks`, `evidence`) with one or more fields broken:
wrong types, huge or negative integers, deep nesting, long strings, nulls, missing and extra
fields. Where a signature guards the field, `Context.sign` signs the hostile content, so it gets
past the signature check to the code behind it.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bedrock.canonical import (
    INT_MAX,
    INT_MIN,
    MAX_DEPTH,
    EncodingError,
    check_value,
    digest_hex,
)
from ledger_core.chain import tx as txm
from ledger_core.consensus.messages import PRECOMMIT, PREVOTE, Proposal, Vote, sign
from ledger_core.crypto.domains import DOMAIN_TX, signing_bytes

KINDS = ("cons", "txs", "status", "get_blocks", "blocks", "evidence", "unknown")
TX_TYPES = tuple(sorted(txm.TX_TYPES))
HUGE_INTS = (INT_MAX, INT_MIN, 2**62, 2**62 - 1, 2**62 + 1, 2**31, 2**31 - 1, -1, 0, 2**53 + 1)
WRAP_DEPTH = 6  # the message wrapper and the protocol's own nesting around a hostile value
QUOTES = '"\\'


@dataclass
class Context:
    """What a hostile message may know about its target: chain, our key (to sign hostile
    content), the current height and round, and a cap on string sizes."""

    chain_id: str
    key_id: str
    sign: Callable[[bytes], bytes]
    height: int = 1
    round: int = 0
    max_string: int = 4096


def hex_str(rng: random.Random, chars: int) -> str:
    return rng.getrandbits(chars * 4).to_bytes((chars + 1) // 2, "big").hex()[:chars]


def huge_int(rng: random.Random) -> int:
    return rng.choice(HUGE_INTS) if rng.random() < 0.7 else rng.randint(INT_MIN, INT_MAX)


def long_string(rng: random.Random, max_len: int) -> str:
    n = rng.choice((0, 1, max_len, rng.randint(0, max_len)))
    kind = rng.randrange(4)
    if kind == 0:
        return "".join(rng.choice(QUOTES) for _ in range(n))  # worst escaping
    if kind == 1:
        return "\u00e9\u4e2d\U0001f600"[: max(0, n)] * max(1, n // 3)  # multi-byte UTF-8
    if kind == 2:
        return "".join(chr(rng.randint(0, 0x1F)) for _ in range(n))  # control characters
    return "x" * n


def nested(rng: random.Random, depth: int) -> Any:
    """`depth` levels of lists / objects around a leaf."""
    v: Any = rng.choice((None, 0, "", [], {}))
    for _ in range(depth):
        v = [v] if rng.random() < 0.5 else {"a": v}
    return v


def scalar(rng: random.Random, max_string: int) -> Any:
    kind = rng.randrange(6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return huge_int(rng)
    if kind == 3:
        return long_string(rng, max_string)
    if kind == 4:
        return hex_str(rng, rng.choice((63, 64, 65, 128)))
    return rng.choice(("", "null", "0", "-1", "cons", "\u0000", "NaN"))


def value(rng: random.Random, depth: int = MAX_DEPTH - WRAP_DEPTH, max_string: int = 4096) -> Any:
    """Any hostile JSON value, nested at most `depth` levels."""
    kind = rng.randrange(6) if depth > 0 else 0
    if kind <= 1:
        return scalar(rng, max_string)
    if kind == 2:
        return nested(rng, rng.randint(1, depth))
    if kind == 3:
        return [value(rng, depth - 1, max_string) for _ in range(rng.randint(0, 4))]
    if kind == 4:
        keys = rng.sample(("a", "t", "height", "block", "txs", "", "__proto__", "m"), 3)
        return {k: value(rng, depth - 1, max_string) for k in keys[: rng.randint(0, 3)]}
    return [None] * rng.choice((0, 1, 1000, 10_000))


def wrong_type(rng: random.Random, old: Any, max_string: int) -> Any:
    """A value of another JSON type than `old` (or a hostile value of the same type)."""
    choices: list[Any] = [None, True, [old], {"v": old}, huge_int(rng),
                          long_string(rng, max_string), nested(rng, rng.randint(2, 20))]
    if type(old) is str:
        choices.append(old + "\u0000")
    if type(old) is int:
        choices += [str(old), -old - 1, old + 2**40]
    return rng.choice(choices)


def mutate(rng: random.Random, obj: Any, max_string: int = 4096, edits: int | None = None) -> Any:
    """A copy of a well-formed object with fields broken (see module docstring)."""
    obj = json.loads(json.dumps(obj))
    for _ in range(edits if edits is not None else rng.randint(1, 3)):
        obj = _edit(rng, obj, max_string, 0)
    return obj


def _edit(rng: random.Random, obj: Any, max_string: int, depth: int) -> Any:
    if type(obj) is dict and obj and depth < 8 and rng.random() < 0.6:
        key = rng.choice(sorted(obj))
        op = rng.randrange(4)
        if op == 0:
            del obj[key]
        elif op == 1:
            obj["extra_" + hex_str(rng, 4)] = value(rng, 4, max_string)
        else:
            obj[key] = _edit(rng, obj[key], max_string, depth + 1)
        return obj
    if type(obj) is list and obj and depth < 8 and rng.random() < 0.6:
        i = rng.randrange(len(obj))
        obj[i] = _edit(rng, obj[i], max_string, depth + 1)
        return obj
    return wrong_type(rng, obj, max_string)


# -- well-formed shapes to break -------------------------------------------------------------


def header(rng: random.Random, ctx: Context) -> dict[str, Any]:
    return {
        "chain_id": ctx.chain_id, "height": ctx.height, "time": 1_700_000_000_000,
        "prev_hash": hex_str(rng, 64), "tx_root": hex_str(rng, 64), "app_hash": hex_str(rng, 64),
        "validators_hash": hex_str(rng, 64), "proposer": ctx.key_id,
        "last_commit_hash": hex_str(rng, 64),
    }


def commit(rng: random.Random, ctx: Context) -> dict[str, Any]:
    return {"height": ctx.height, "round": 0, "block_id": hex_str(rng, 64),
            "signatures": [{"validator": ctx.key_id, "signature": hex_str(rng, 128)}]}


def signed_tx(ctx: Context, tx_type: str, payload: Any, nonce: int = 1) -> dict[str, Any]:
    """A tx envelope over `payload` (any value) that the sender's key really signed."""
    body = {"chain_id": ctx.chain_id, "type": tx_type, "sender": ctx.key_id, "nonce": nonce,
            "time": 1_700_000_000_000, "payload": payload}
    sig = ctx.sign(signing_bytes(DOMAIN_TX, ctx.chain_id, body))
    return {"body": body, "signature": sig.hex()}


def tx_envelope(rng: random.Random, ctx: Context) -> Any:
    kind = rng.randrange(3)
    if kind == 0:  # a signed member.propose with a hostile action (the sync_poison tx)
        action = rng.choice(([], {}, [["add_org"]], {"a": 1}, huge_int(rng),
                             nested(rng, 20), None, "add_validator"))
        return signed_tx(ctx, "member.propose", {"action": action, "note": None}, huge_int(rng))
    if kind == 1:  # a signed tx whose payload is any hostile value
        return signed_tx(ctx, rng.choice(TX_TYPES), value(rng, 20, ctx.max_string),
                         rng.randint(1, 1000))
    return mutate(rng, signed_tx(ctx, rng.choice(TX_TYPES), {}), ctx.max_string)


def block(rng: random.Random, ctx: Context) -> Any:
    obj = {"header": header(rng, ctx), "txs": [tx_envelope(rng, ctx) for _ in range(rng.randint(0, 3))],
           "last_commit": rng.choice((None, commit(rng, ctx)))}
    return obj if rng.random() < 0.3 else mutate(rng, obj, ctx.max_string)


def sync_item(rng: random.Random, ctx: Context) -> Any:
    item = {"block": block(rng, ctx), "commit": commit(rng, ctx)}
    kind = rng.randrange(4)
    if kind == 0:
        return json.dumps(item, separators=(",", ":"))  # text items (the older format)
    if kind == 1:
        return mutate(rng, item, ctx.max_string)
    if kind == 2:
        return value(rng, 20, ctx.max_string)
    return item


def cons_wire(rng: random.Random, ctx: Context) -> Any:
    """A consensus message signed with our key over hostile-but-signable fields, or a signed
    one with fields broken after signing."""
    h = rng.choice((ctx.height, ctx.height + 1, 0, 2**62, max(0, ctx.height - 1)))
    r = rng.choice((ctx.round, 0, 2**31 - 1, rng.randint(0, 100)))
    bid = hex_str(rng, rng.choice((2, 64, 128)))
    if rng.random() < 0.5:
        payload = rng.choice((block(rng, ctx), block(rng, ctx), value(rng, 20, ctx.max_string)))
        head = payload.get("header") if type(payload) is dict else None
        if type(head) is dict and rng.random() < 0.7:  # the id the payload's header hashes to
            with contextlib.suppress(EncodingError):
                bid = digest_hex(head)
        body: Any = Proposal(h, r, bid, rng.choice((-1, r - 1)) if r else -1)
    else:
        body = Vote(rng.choice((PREVOTE, PRECOMMIT)), h, r, rng.choice((bid, None)))
        payload = None
    wire = sign(ctx.chain_id, body, ctx.key_id, ctx.sign, payload).to_wire()
    return wire if rng.random() < 0.5 else mutate(rng, wire, ctx.max_string)


def evidence(rng: random.Random, ctx: Context) -> Any:
    a = sign(ctx.chain_id, Vote(PREVOTE, ctx.height, 0, hex_str(rng, 64)), ctx.key_id, ctx.sign)
    b = sign(ctx.chain_id, Vote(PREVOTE, ctx.height, 0, hex_str(rng, 64)), ctx.key_id, ctx.sign)
    ev = {"type": "double_sign", "a": a.to_wire(), "b": b.to_wire()}
    return rng.choice((ev, mutate(rng, ev, ctx.max_string), value(rng, 20, ctx.max_string)))


def message_of(kind: str, rng: random.Random, ctx: Context) -> dict[str, Any]:
    """One peer message of `kind` (one of KINDS) with hostile content, always canonical-JSON
    material (a draw nested too deep is drawn again)."""
    while True:
        msg = _message_of(kind, rng, ctx)
        try:
            check_value(msg)
        except EncodingError:
            continue
        return msg


def _message_of(kind: str, rng: random.Random, ctx: Context) -> dict[str, Any]:
    big = ctx.max_string
    if kind == "cons":
        msg: dict[str, Any] = {"t": "cons", "m": cons_wire(rng, ctx)}
    elif kind == "txs":
        n = rng.choice((0, 1, 3, 4001))
        txs = [tx_envelope(rng, ctx) for _ in range(min(n, 3))] + [None] * max(0, n - 3)
        msg = {"t": "txs", "txs": rng.choice((txs, value(rng, 20, big)))}
    elif kind == "status":
        msg = {"t": "status", "height": rng.choice((huge_int(rng), value(rng, 20, big)))}
    elif kind == "get_blocks":
        msg = {"t": "get_blocks", "from": rng.choice((huge_int(rng), ctx.height, 1, None)),
               "limit": rng.choice((huge_int(rng), 0, 1, 10**9, value(rng, 10, big)))}
    elif kind == "blocks":
        items = [sync_item(rng, ctx) for _ in range(rng.randint(0, 3))]
        msg = {"t": "blocks", "blocks": rng.choice((items, items, value(rng, 20, big)))}
    elif kind == "evidence":
        msg = {"t": "evidence", "e": evidence(rng, ctx)}
    else:
        msg = {"t": rng.choice(("", "x" * 300, "CONS", "status ", hex_str(rng, 8))),
               "m": value(rng, 20, big)}
    if rng.random() < 0.2:
        msg["extra"] = value(rng, 10, big)
    return msg


def message(rng: random.Random, ctx: Context) -> dict[str, Any]:
    """A peer message of a random kind (see `message_of`)."""
    return message_of(rng.choice(KINDS), rng, ctx)
