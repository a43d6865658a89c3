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
    pool = Mempool(capacity=1000)
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
