"""Batched block writes and shared record encodings: a batch written in one transaction leaves
exactly the rows block-by-block writing leaves (a key put and deleted inside the batch
included), and the app_hash leaves built from the records' bytes equal canonical([t, k, rec])."""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from app.db import make_engine, sqlite_url
from bedrock.canonical import canonical, digest_hex
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain import tx as txm
from ledger_core.chain.block import sign_commit
from ledger_core.chain.replica import Chain
from ledger_core.chain.state import app_hash_of, encode_writes
from ledger_core.chain.store import LedgerStore
from ledger_core.chain.store import tables as t
from ledger_core.crypto import merkle
from ledger_core.node import sync_items as sync
from tests.support.ledger_world import consortium, report, signer

T0 = 1_700_000_000_000


def _chain(tmp_path, name, c):
    return Chain(LedgerStore(make_engine(sqlite_url(tmp_path / f"{name}.sqlite"))), c.genesis, rules=LEDGER_RULES)


def _produce(chain, signers, txs):
    block, result = chain.propose(txs, signers[0].key_id, chain.state.last_time + 1000)
    assert not result.rejected, result.rejected
    commit = sign_commit(signers, chain.chain_id, block.height, 0, block.id)
    chain.commit(block, commit, result)
    return block, commit


def _rows(chain):
    with chain.store.engine.connect() as conn:
        state = conn.execute(sa.select(t.state).order_by(t.state.c.tbl, t.state.c.key)).all()
        meta = conn.execute(sa.select(t.meta).order_by(t.meta.c.key)).all()
        blocks = conn.execute(sa.select(t.blocks).order_by(t.blocks.c.height)).all()
        txs = conn.execute(sa.select(t.txs).order_by(t.txs.c.height, t.txs.c.idx)).all()
    return [tuple(r) for r in state], [tuple(r) for r in meta], [tuple(r) for r in blocks], [tuple(r) for r in txs]


def test_one_batch_leaves_the_rows_of_block_by_block_writes(tmp_path):
    c = consortium(2)
    src = _chain(tmp_path, "src", c)
    newnode = signer("node-2")
    reg = {"participant": {"key_id": newnode.key_id, "public_key": newnode.public_raw.hex(),
                           "name": "node-2", "kind": "node", "roles": []}}
    _produce(src, [c.node], [txm.make(c.expert, c.chain_id, "participant.register", 1, reg, T0)])
    # the proposal's "pending" row is written at height 2 and deleted at height 3
    prop = {"action": "add_validator", "key_id": newnode.key_id}
    _produce(src, [c.node], [txm.make(c.node, c.chain_id, "member.propose", 1, prop, T0)])
    _produce(src, [c.node], [report(c.devices[0], c.chain_id, 1)])
    both = sorted([c.node, newnode], key=lambda s: s.key_id)
    _produce(src, both, [report(c.devices[1], c.chain_id, 1)])
    _produce(src, both, [report(c.devices[0], c.chain_id, 2), report(c.devices[1], c.chain_id, 2)])
    assert newnode.key_id in src.state.validators()

    dst = _chain(tmp_path, "dst", c)
    entries = []
    for item in sync.read_batch(src.store, 1, 100):
        block, commit, result = sync.check_item(dst, item)
        signers = dst.check_commit(block, commit)
        dst.advance(block, commit, result, signers)
        entries.append((block, commit, result, signers))
    dst.persist_many(entries)

    assert _rows(dst) == _rows(src)
    pending = [r for r in _rows(dst)[0] if r[0] == "pending"]
    assert pending == []
    again = Chain(dst.store, c.genesis, rules=LEDGER_RULES)
    assert again.height == 5 and again.state.app_hash == src.state.app_hash
    assert again.state.validators() == src.state.validators()


records = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(st.characters(max_codepoint=127), max_size=6), kids, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(writes=st.dictionaries(st.tuples(st.sampled_from(["org", "cert", "nonce"]), st.text(max_size=10)),
                              st.none() | st.dictionaries(st.text(st.characters(max_codepoint=127), max_size=5), records, max_size=3),
                              max_size=6))
def test_app_hash_leaves_are_canonical_triples(writes):
    leaves = [canonical([tb, k, rec]) for (tb, k), rec in sorted(writes.items())]
    expected = digest_hex({"height": 7, "prev": "ab" * 32, "writes": merkle.root(leaves).hex(), "count": len(leaves)})
    assert app_hash_of("ab" * 32, 7, writes) == expected
    assert app_hash_of("ab" * 32, 7, writes, encode_writes(writes)) == expected
