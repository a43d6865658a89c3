"""Block sync and the peer-message handler in process: batches apply to the same state, tampered
or malformed items are refused with a reason code, and random peer messages never raise."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain.block import BlockError
from ledger_core.chain.replica import Chain
from ledger_core.chain.store import LedgerStore
from ledger_core.crypto.keys import KeyPair
from ledger_core.node import sync_items as sync
from ledger_core.node.ledger_node import Node
from ledger_core.node.network_producer import ConsensusProducer
from tests.support.ledger_world import consortium, produce, report

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=20,
)


def make_chain(tmp_path, name, c):
    from app.db import make_engine, sqlite_url

    return Chain(LedgerStore(make_engine(sqlite_url(tmp_path / f"{name}.sqlite"))), c.genesis, rules=LEDGER_RULES)


@pytest.fixture
def source(tmp_path):
    c = consortium(2)
    src = make_chain(tmp_path, "src", c)
    nonce = 0
    for _h in range(6):
        txs = []
        for d in c.devices:
            nonce += 1
            txs.append(report(d, c.chain_id, nonce))
        produce(src, c.node, txs)
    return c, src


def apply_items(chain: Chain, items) -> None:
    entries = []
    for item in items:
        block, commit, result = sync.check_item(chain, item)
        signers = chain.check_commit(block, commit)
        chain.advance(block, commit, result, signers)
        entries.append((block, commit, result, signers))
    chain.persist_many(entries)


def test_batches_reproduce_the_chain(tmp_path, source):
    c, src = source
    dst = make_chain(tmp_path, "dst", c)
    apply_items(dst, sync.read_batch(src.store, 1, 4))
    assert dst.height == 4
    apply_items(dst, sync.read_batch(src.store, 5, 100))
    assert dst.height == src.height == 6 and dst.state.app_hash == src.state.app_hash
    # the writes survive a restart
    again = Chain(dst.store, c.genesis, rules=LEDGER_RULES)
    assert again.height == 6 and again.state.app_hash == src.state.app_hash


def test_items_are_the_canonical_bytes_of_the_block_and_commit(source):
    from bedrock.canonical import canonical, decode

    _c, src = source
    items = sync.read_batch(src.store, 1, 100)
    message = decode(sync.blocks_bytes(items))  # refuses anything not canonical
    assert message == {"t": "blocks", "blocks": [json.loads(x) for x in items]}
    for h, text in enumerate(items, 1):
        stored = src.store.block(h)
        obj = json.loads(text)
        assert canonical(obj) == text
        assert obj["commit"] == stored["commit"] and obj["block"]["header"] == stored["header"]
        parsed, commit = sync.parse_item(src, text)
        assert parsed.id == stored["block_id"] and len(parsed.txs) == stored["num_txs"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200) | json_values.map(json.dumps))
def test_random_item_texts_raise_block_error_only(tmp_path, source, text):
    c, _src = source
    dst = make_chain(tmp_path, "fuzz2", c)
    try:
        with pytest.raises(BlockError):
            sync.check_item(dst, text)
    finally:
        dst.store.engine.dispose()


def test_byte_budget_still_returns_one_block(source):
    _c, src = source
    assert len(sync.read_batch(src.store, 1, 100, max_bytes=1)) == 1
    assert sync.read_batch(src.store, 7, 100) == []


@pytest.mark.parametrize(
    "tamper, code",
    [
        (lambda it: it["block"]["txs"][0].update(signature="00" * 64), "bad_tx_root"),
        (lambda it: it["commit"]["signatures"][0].update(signature="11" * 64), "bad_commit_signature"),
        (lambda it: it["commit"].update(block_id="ab" * 32), "commit_mismatch"),
        (lambda it: it["block"]["header"].update(app_hash="cd" * 32), "bad_app_hash"),
        (lambda it: it["block"]["header"].update(height=2), "bad_height"),
        (lambda it: it.pop("commit"), "bad_block"),
    ],
)
def test_tampered_items_are_refused(tmp_path, source, tamper, code):
    c, src = source
    item = json.loads(sync.read_batch(src.store, 1, 1)[0])
    tamper(item)
    dst = make_chain(tmp_path, "dst", c)
    with pytest.raises(BlockError) as err:
        apply_items(dst, [item])
    assert err.value.code == code
    assert dst.height == 0 and dst.store.height() == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(item=json_values)
def test_random_items_raise_block_error_only(tmp_path, source, item):
    c, _src = source
    dst = make_chain(tmp_path, "fuzz", c)
    try:
        with pytest.raises(BlockError):
            sync.check_item(dst, item)
    finally:
        dst.store.engine.dispose()


def test_random_peer_messages_never_raise(tmp_path, source):
    c, src = source
    node = Node(src, c.node, tmp_path / "n.sock")
    keys = KeyPair.from_seed(hashlib.sha256(b"node").digest())
    assert keys.key_id == c.node.key_id
    producer = ConsensusProducer(node, keys, tmp_path)
    loop = asyncio.new_event_loop()

    messages = st.one_of(
        json_values,
        st.fixed_dictionaries({"t": st.sampled_from(["cons", "txs", "status", "get_blocks", "blocks", "evidence"])},
                              optional={"m": json_values, "txs": json_values, "height": json_values,
                                        "from": json_values, "limit": json_values, "blocks": json_values,
                                        "e": json_values}),
    )

    @settings(max_examples=300, deadline=None)
    @given(msg=messages)
    def check(msg):
        async def go():
            producer.router.dispatch("ab" * 32, msg)
            await asyncio.sleep(0)

        loop.run_until_complete(go())

    try:
        check()
        assert src.height == 6
    finally:
        loop.close()


def test_a_last_commit_other_than_the_checked_one_is_verified(tmp_path, source):
    from ledger_core.chain.block import commit_hash

    c, src = source
    first, second = (json.loads(x) for x in sync.read_batch(src.store, 1, 2))
    second["block"]["last_commit"]["signatures"][0]["signature"] = "22" * 64
    second["block"]["header"]["last_commit_hash"] = commit_hash(second["block"]["last_commit"])
    dst = make_chain(tmp_path, "dst", c)
    apply_items(dst, [first])
    with pytest.raises(BlockError) as err:
        apply_items(dst, [second])
    assert err.value.code == "bad_commit_signature" and dst.height == 1
