"""The pure parts of the reactors: block sync's fetch schedule and serve queue, the tx gossip
batch and its relay rule."""

from __future__ import annotations

import json

from ledger_core.node import sync_schedule as ss
from ledger_core.node.tx_gossip import TX_GOSSIP_BATCH, TxBatch

A, B, C = "aa" * 32, "bb" * 32, "cc" * 32


def item(h: int) -> str:
    return json.dumps({"block": {"header": {"height": h}}, "commit": {}})


def test_the_highest_connected_peer_is_asked_from_our_head():
    s = ss.FetchSchedule()
    assert s.next_request(0.0, 5, {A, B}) is None  # nobody ahead
    s.on_status(A, 9)
    s.on_status(B, 20)
    s.on_status(C, 50)  # not connected
    assert s.next_request(0.0, 5, {A, B}) == (B, {"t": "get_blocks", "from": 6,
                                                  "limit": ss.SYNC_BATCH})


def test_one_request_at_a_time_until_it_times_out_then_another_peer_is_asked():
    s = ss.FetchSchedule()
    s.on_status(A, 9)
    s.on_status(B, 5)
    s.asked(A, 100.0)
    assert s.next_request(100.0 + ss.SYNC_TIMEOUT_S - 0.1, 0, {A, B}) is None
    # A announced the most and served nothing in time: it is not asked again before its next
    # status (a peer announcing 2**62 and never answering would starve sync), and is named
    ask = s.next_request(100.0 + ss.SYNC_TIMEOUT_S, 0, {A, B})
    assert ask is not None and ask[0] == B and s.timed_out == A
    assert A not in s.peer_heights


def test_a_batch_counts_in_flight_and_bounds_what_is_fetched_ahead():
    s = ss.FetchSchedule()
    s.on_status(A, 1000)
    assert not s.on_blocks(A, [item(1)])  # not asked
    for n in range(ss.SYNC_AHEAD):
        s.asked(A, 0.0)
        assert s.on_blocks(A, [item(1 + n * 10), item(10 + n * 10)])
    assert s.fetched_to == 10 * ss.SYNC_AHEAD and s.in_flight == ss.SYNC_AHEAD
    assert s.next_request(0.0, 0, {A}) is None  # enough waits to be applied
    s.applied()
    assert s.next_request(0.0, 0, {A})[1]["from"] == s.fetched_to + 1
    assert not s.idle


def test_an_empty_answer_and_a_refused_block_forget_the_peer():
    s = ss.FetchSchedule()
    s.on_status(A, 9)
    s.asked(A, 0.0)
    assert not s.on_blocks(A, [])
    assert A not in s.peer_heights and s.pending is None and s.idle
    s.on_status(A, 9)
    s.asked(A, 0.0)
    assert s.on_blocks(A, [item(4)])
    s.refused(A)
    assert A not in s.peer_heights and s.fetched_to == 0


def test_status_and_request_checks():
    assert ss.parse_status({"height": 3}) == 3
    assert ss.parse_status({"height": -1}) is None
    assert ss.parse_status({"height": True}) is None
    assert ss.parse_request({"from": 2, "limit": 5}, 4) == (2, 5)
    assert ss.parse_request({"from": 5, "limit": 5}, 4) is None
    assert ss.parse_request({"from": 0, "limit": 5}, 4) is None
    assert ss.parse_request({"from": 1, "limit": "5"}, 4) is None


def test_the_serve_queue_keeps_the_newest_request_for_after_the_send():
    q = ss.ServeQueue()
    assert q.request(A, 1, 10)
    assert not q.request(A, 11, 10)
    assert not q.request(A, 21, 10)  # replaces the waiting one
    assert q.request(B, 1, 10)  # another peer is served at once
    assert q.next(A) == (21, 10)
    assert q.next(A) is None
    q.done(A)
    assert q.request(A, 31, 10)


def test_tx_batch_relay_rule():
    b = TxBatch()
    b.add({"n": 1}, None)
    b.add({"n": 2}, A)
    b.add({"n": 3}, A)
    b.add({"n": 4}, B)
    assert b.take(relay=True) == [
        ({"t": "txs", "txs": [{"n": 1}]}, ()),
        ({"t": "txs", "txs": [{"n": 2}, {"n": 3}]}, (A,)),
        ({"t": "txs", "txs": [{"n": 4}]}, (B,)),
    ]
    assert len(b) == 0
    b.add({"n": 5}, A)
    b.add({"n": 6}, None)
    assert b.take(relay=False) == [({"t": "txs", "txs": [{"n": 6}]}, ())]


def test_tx_batch_says_when_it_is_full():
    b = TxBatch()
    assert not any(b.add({"n": i}, None) for i in range(TX_GOSSIP_BATCH - 1))
    assert b.add({"n": -1}, None)
