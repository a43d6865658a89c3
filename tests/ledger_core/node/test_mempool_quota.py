"""Per-sender mempool quotas (issue 13, finding 6): one participant flooding valid transactions of
its own key fills its share of the pool, not the pool."""

from __future__ import annotations

import pytest

from ledger_core.chain.tx import TxError
from ledger_core.node.mempool import Mempool
from tests.support.ledger_world import consortium, report


def _refusal(pool: Mempool, tx) -> str | None:
    try:
        pool.precheck(tx)
    except TxError as exc:
        return exc.code
    pool.add(tx)
    return None


def test_a_flooding_sender_is_held_to_its_count_quota_and_others_still_get_in():
    c = consortium(2)
    flooder, honest = c.devices
    pool = Mempool(capacity=5000)
    assert pool.max_sender_txs == 50
    codes = [_refusal(pool, report(flooder, c.chain_id, n)) for n in range(1, 201)]
    assert codes.count(None) == 50 and set(codes[50:]) == {"sender_quota"}
    assert _refusal(pool, report(honest, c.chain_id, 1)) is None
    # once its transactions commit, the sender has room again
    pool.remove(pool.take(10))
    assert _refusal(pool, report(flooder, c.chain_id, 500)) is None


def test_the_byte_quota_counts_transaction_sizes():
    c = consortium(2)
    one = report(c.devices[0], c.chain_id, 1)
    pool = Mempool(capacity=1000, max_bytes=100 * len(one.raw))
    assert pool.max_sender_bytes == 5 * len(one.raw)
    codes = [_refusal(pool, report(c.devices[0], c.chain_id, n)) for n in range(1, 10)]
    assert codes[:4] == [None] * 4 and "sender_quota" in codes
    assert pool.bytes <= 5 * len(one.raw) + len(one.raw)


def test_the_total_byte_bound_refuses_when_full():
    c = consortium(3)
    one = report(c.devices[0], c.chain_id, 1)
    pool = Mempool(capacity=1000, max_bytes=2 * len(one.raw) + 10,
                   max_sender_txs=10, max_sender_bytes=10**9)
    assert _refusal(pool, report(c.devices[0], c.chain_id, 1)) is None
    assert _refusal(pool, report(c.devices[1], c.chain_id, 1)) is None
    with pytest.raises(TxError) as info:
        pool.precheck(report(c.devices[2], c.chain_id, 1))
    assert info.value.code == "mempool_full"
    pool.remove(pool.take(2))
    assert pool.bytes == 0 and len(pool) == 0


def test_blocks_are_filled_fairly_and_each_senders_nonces_stay_in_order():
    c = consortium(3)
    flooder, a, b = c.devices
    pool = Mempool(capacity=10_000, max_sender_txs=1000)
    for n in range(1, 101):
        pool.add(report(flooder, c.chain_id, n))
    for n in range(1, 6):
        pool.add(report(a, c.chain_id, n))
        pool.add(report(b, c.chain_id, n))
    block = pool.take(16)  # a sender's share is 16 // 8 = 2 before the others' turn
    senders = [tx.sender for tx in block]
    assert senders.count(a.key_id) == 5 and senders.count(b.key_id) == 5
    assert senders.count(flooder.key_id) == 6 and len(block) == 16
    for s in (flooder, a, b):
        nonces = [tx.nonce for tx in block if tx.sender == s.key_id]
        assert nonces == sorted(nonces) and nonces[0] == 1
    assert len(pool.take(1000)) == 110


def test_a_sender_over_its_quota_is_refused_before_its_transaction_is_parsed(tmp_path, monkeypatch):
    from ledger_core.node import ledger_node
    from ledger_core.node.ledger_node import Node
    from tests.ledger_core.node.test_sync_unit import make_chain

    c = consortium(1)
    node = Node(make_chain(tmp_path, "n", c), c.node, tmp_path / "n.sock")
    node.mempool = Mempool(capacity=10_000, max_sender_txs=3)
    answers = [node.admit(report(c.devices[0], c.chain_id, n).envelope())[0] for n in range(1, 4)]
    assert all(a["ok"] for a in answers)
    parsed = []
    monkeypatch.setattr(ledger_node, "from_obj", lambda *a, **k: parsed.append(a))
    answer, tx_hash = node.admit(report(c.devices[0], c.chain_id, 4).envelope())
    assert answer["code"] == "sender_quota" and tx_hash is None and parsed == []
