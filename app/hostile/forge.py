"""Signed hostile artefacts: what a registered, Byzantine node key can really produce.

Everything here carries valid signatures of the hostile node's key; the content is what is
hostile: transactions whose payload the tx schema must refuse (signed over the raw body, past
`tx.make`'s own checks), sync items holding them, blocks executed without the honest size bound
or stamped with absurd times, worst-case-size transactions (notes full of characters that JSON
escapes) and the second of two conflicting consensus messages (signed without the double-sign
guard).
"""

from __future__ import annotations

from typing import Any

from app.hostile.payloads import Context, signed_tx
from ledger_core.chain import block as blk
from ledger_core.chain import tx as txm
from ledger_core.chain.block import Block
from ledger_core.chain.replica import Chain
from ledger_core.chain.state import BlockResult
from ledger_core.chain.tx import Tx
from ledger_core.consensus.messages import PROPOSAL, Proposal, Signed, Vote, sign
from ledger_core.crypto.keys import KeyPair

YEAR_3000_MS = 32_503_680_000_000
HOSTILE_TIMES = (2**62 - 1, 2**62, YEAR_3000_MS)
NOTE_CHARS = 500  # the longest note / comment the tx schema allows
# member.propose actions the tx schema must refuse without raising anything but its own error
def _deep(levels: int) -> Any:
    v: Any = "add_validator"
    for _ in range(levels):
        v = [v]
    return v


POISON_ACTIONS: tuple[Any, ...] = (["add_validator"], {"add_validator": 1}, 2**63 - 1, _deep(20))


def context(chain: Chain, keys: KeyPair, **kw: Any) -> Context:
    return Context(chain.chain_id, keys.key_id, keys.sign, chain.height + 1, **kw)


def worst_note(n: int = NOTE_CHARS) -> str:
    """`n` characters that JSON escapes (each is two bytes in canonical JSON and four once that
    text is itself put in a JSON string)."""
    return ('"\\' * n)[:n]


def poison_tx(chain: Chain, keys: KeyPair, action: Any, nonce: int | None = None) -> dict[str, Any]:
    """A `member.propose` envelope, signed by the validator's key, whose payload.action is
    `action` (a list, an object, a huge integer, deep nesting: the schema must refuse it)."""
    nonce = chain.state.nonce(keys.key_id) + 1 if nonce is None else nonce
    return signed_tx(context(chain, keys), "member.propose", {"action": action, "note": None}, nonce)


def poison_item(chain: Chain, keys: KeyPair, height: int, action: Any) -> dict[str, Any]:
    """A sync item (`{"block", "commit"}`) for `height` whose one transaction is `poison_tx`;
    header and commit are well formed, so the transaction is what the receiver parses."""
    tx = poison_tx(chain, keys, action)
    header = blk.make_header(
        chain.chain_id, height, chain.state.last_time + 1, chain.state.last_block_id,
        [], chain.state.app_hash, chain.state.validators_hash(), keys.key_id, None,
    )
    block = {"header": header, "txs": [tx], "last_commit": None}
    commit = blk.sign_commit([keys], chain.chain_id, height, 0, blk.block_id(header))
    return {"block": block, "commit": commit}


def filler_txs(chain: Chain, keys: KeyPair, first_nonce: int, count: int,
               note: str | None = None) -> list[Tx]:
    """Valid `member.propose` transactions of the validator's key (nonces `first_nonce` on),
    each a `set_param` proposal whose note is `worst_note()`: the largest a node key can send."""
    now = chain.state.last_time + 1
    note = worst_note() if note is None else note
    action = {"action": "set_param", "name": "max_block_txs", "value": 5000, "note": note}
    return [txm.make(keys, chain.chain_id, "member.propose", n, action, now)
            for n in range(first_nonce, first_nonce + count)]


def build_block(
    chain: Chain, txs: list[Tx], proposer: str, time_ms: int
) -> tuple[Block, BlockResult]:
    """`Chain.propose` without the honest bounds: every transaction kept (no size limit) and
    the time as given (no `max(now, last + 1)`)."""
    h = chain.state.height + 1
    result = chain.state.execute(txs, h, time_ms, chain.cache)
    header = blk.make_header(
        chain.chain_id, h, time_ms, chain.state.last_block_id, [x.hash for x in result.accepted],
        result.app_hash, result.validators_hash, proposer, chain.last_commit,
    )
    return Block(header, result.accepted, chain.last_commit), result


def oversized(chain: Chain, keys: KeyPair, fillers: list[Tx], target_bytes: int,
              time_ms: int) -> tuple[Block, BlockResult]:
    """A valid block (executable, signed transactions) of at least `target_bytes`, as far as
    `fillers` go."""
    take, size = [], 0
    for tx in fillers:
        if size >= target_bytes:
            break
        take.append(tx)
        size += len(tx.raw) + 1
    return build_block(chain, take, keys.key_id, time_ms)


def twin(m: Signed, keys: KeyPair, other_block_id: str | None,
         other_payload: Any = None) -> Signed:
    """A second message for the same height, round and step as `m`, for another block:
    equivocation, signed with the raw key (no double-sign guard)."""
    b = m.body
    if b.type == PROPOSAL:
        assert other_block_id is not None
        body: Any = Proposal(b.height, b.round, other_block_id, b.valid_round)
    else:
        body = Vote(b.type, b.height, b.round, other_block_id)
    return sign(m.chain_id, body, keys.key_id, keys.sign, other_payload)
