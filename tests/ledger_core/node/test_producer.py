"""The node: control socket protocol, block production, heartbeat, clean stop and crash safety."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import stat
import struct
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db import make_engine
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain.replica import Chain
from ledger_core.chain.store import LedgerStore
from ledger_core.chain.verify import verify_chain
from ledger_core.node.client import NodeClient
from ledger_core.node.ledger_node import Node, NodeError
from tests.support import nodeproc
from tests.support.ledger_world import consortium, report


class Running:
    """A node on its own event loop thread (in-process)."""

    def __init__(self, root, c, heartbeat=0.2):
        self.engine = make_engine(f"sqlite:///{root / 'ledger.sqlite'}")
        self.node = Node(Chain(LedgerStore(self.engine), c.genesis, rules=LEDGER_RULES), c.node, root / "node.sock",
                         heartbeat_s=heartbeat)
        self.loop = None
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not (root / "node.sock").exists():
            assert self.thread.is_alive(), self.error
            assert time.monotonic() < deadline
            time.sleep(0.02)

    def _run(self):
        async def main():
            self.loop = asyncio.get_running_loop()
            await self.node.run(handle_signals=False)

        try:
            asyncio.run(main())
        except Exception as exc:  # surfaced by the test
            self.error = exc

    def stop(self):
        self.loop.call_soon_threadsafe(self.node.request_stop)
        self.thread.join(30)
        self.engine.dispose()


@pytest.fixture
def running(tmp_path):
    c = consortium(3)
    r = Running(tmp_path, c)
    yield c, r, NodeClient(tmp_path / "node.sock")
    if r.thread.is_alive():
        r.stop()


def test_socket_protocol(running, tmp_path):
    c, r, cl = running
    sock = tmp_path / "node.sock"
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    st = cl.status()
    assert st["chain_id"] == c.chain_id and st["validators"] == [c.node.key_id]
    t1 = report(c.devices[0], c.chain_id, 1)
    ans = cl.submit(t1, wait=True)
    assert ans["ok"] and ans["height"] >= 1
    assert cl.submit(t1)["code"] == "bad_nonce"  # replayed
    assert cl.request("submit", tx={"body": 1})["code"] == "bad_envelope"
    assert cl.submit(report(c.devices[0], "ab" * 32, 2))["code"] == "wrong_chain"
    results = cl.submit_batch([report(c.devices[1], c.chain_id, n) for n in (1, 2, 3)] +
                              [report(c.devices[1], c.chain_id, 2, "other")], wait=True)
    assert [x["ok"] for x in results] == [True, True, True, False]
    assert results[3]["code"] == "bad_nonce"  # reordered behind a pending nonce
    assert cl.next_nonce(c.devices[1].key_id) == 4
    assert cl.tx(t1.hash)["height"] == ans["height"]
    assert cl.block(ans["height"])["txs"][0]["hash"] == t1.hash
    assert cl.blocks(limit=2)[0]["height"] == cl.status()["height"]
    assert cl.search(c.devices[0].key_id)["kind"] == "participant"
    assert cl.request("participant", key_id=c.expert.key_id)["participant"]["org"] == "acme"
    assert cl.request("frobnicate")["code"] == "bad_request"
    assert cl.request("block", height="x")["code"] == "bad_request"
    # a non-canonical frame gets one error answer and the connection is closed
    raw = socket.socket(socket.AF_UNIX)
    raw.connect(str(sock))
    body = b'{ "op": "status" }'
    raw.sendall(struct.pack(">I", len(body)) + body)
    n = struct.unpack(">I", raw.recv(4))[0]
    assert b"bad_frame" in raw.recv(n)
    raw.close()
    cl.close()


def test_heartbeat_and_clean_stop(running, tmp_path):
    c, r, cl = running
    h0 = cl.status()["height"]
    deadline = time.monotonic() + 15
    while cl.status()["height"] < h0 + 2:  # empty heartbeat blocks while idle
        assert time.monotonic() < deadline, "no heartbeat blocks"
        time.sleep(0.05)
    assert cl.block(h0 + 1)["num_txs"] == 0
    with pytest.raises(NodeError, match="another node"):
        asyncio.run(Node(r.node.chain, c.node, tmp_path / "node.sock").run(handle_signals=False))
    cl.close()
    r.stop()
    assert r.error is None
    assert not (tmp_path / "node.sock").exists()
    rep = verify_chain(c.genesis, LedgerStore(make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")), rules=LEDGER_RULES)
    assert rep.ok and rep.transactions == 0


@pytest.mark.slow
def test_sigkill_during_commits_leaves_a_verifiable_chain(tmp_path):
    c = consortium(8)
    nodeproc.prepare(tmp_path, c, hashlib.sha256(b"node").digest())
    nonces = dict.fromkeys(range(8), 0)
    heights = []
    for _round in range(2):
        proc, cl = nodeproc.start(tmp_path, heartbeat=0.05)
        stop_at = time.monotonic() + 1.0
        while time.monotonic() < stop_at:
            batch = []
            for i, d in enumerate(c.devices):
                nonces[i] = max(nonces[i], cl.next_nonce(d.key_id) - 1)
                for _ in range(20):
                    nonces[i] += 1
                    batch.append(report(d, c.chain_id, nonces[i]))
            cl.submit_batch(batch)
        heights.append(cl.status()["height"])
        assert nodeproc.stop(proc, cl, signal.SIGKILL) == -signal.SIGKILL
        engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
        rep = verify_chain(c.genesis, LedgerStore(engine), rules=LEDGER_RULES)
        engine.dispose()
        assert rep.ok, rep
        assert rep.height >= heights[-1] and rep.transactions > 0
    proc, cl = nodeproc.start(tmp_path)
    assert cl.status()["height"] >= heights[-1]
    nxt = cl.next_nonce(c.devices[0].key_id)
    assert cl.submit(report(c.devices[0], c.chain_id, nxt), wait=True)["ok"]
    assert nodeproc.stop(proc, cl) == 0
    assert not (tmp_path / "node.sock").exists()


def test_client_without_node(tmp_path):
    from ledger_core.node.client import NodeUnavailable

    with pytest.raises(NodeUnavailable, match="no node is running"):
        NodeClient(tmp_path / "node.sock").status()


def test_mempool_nonces_and_limits():
    from ledger_core.chain.tx import TxError
    from ledger_core.node.mempool import Mempool

    c = consortium(2)
    pool = Mempool(capacity=2)
    a1, a2 = report(c.devices[0], c.chain_id, 1), report(c.devices[0], c.chain_id, 5)
    pool.add(a1)
    pool.add(a2)
    assert pool.pending_nonce(c.devices[0].key_id) == 5 and len(pool) == 2
    with pytest.raises(TxError) as info:
        pool.precheck(a1)
    assert info.value.code == "duplicate"
    with pytest.raises(TxError) as info:
        pool.precheck(report(c.devices[1], c.chain_id, 1))
    assert info.value.code == "mempool_full"
    assert pool.take(1) == [a1]
    pool.remove([a1])
    assert pool.pending_nonce(c.devices[0].key_id) == 5
    pool.remove([a2, a2])
    assert pool.pending_nonce(c.devices[0].key_id) is None and len(pool) == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_node_admission_never_stores_rejects(tmp_path, data):
    c = consortium(1)
    engine = make_engine(f"sqlite:///{tmp_path / 'fuzz.sqlite'}")
    try:
        node = Node(Chain(LedgerStore(engine), c.genesis, rules=LEDGER_RULES), c.node, tmp_path / "n.sock")
        env = report(c.devices[0], c.chain_id, 1).envelope()
        path = data.draw(st.sampled_from([(), ("body",), ("body", "payload"), ("body", "payload", "metrics")]))
        target = env
        for k in path:
            target = target[k]
        key = data.draw(st.sampled_from(sorted(target)))
        target[key] = data.draw(st.none() | st.integers(-3, 2**64) | st.text(max_size=70) | st.lists(st.integers(), max_size=2)
                                | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
        answer, tx_hash = node.admit(env)
        if answer["ok"]:
            assert len(node.mempool) == 1 and tx_hash in node.mempool
        else:
            assert answer["code"] and answer["message"] and len(node.mempool) == 0 and tx_hash is None
        assert node.chain.store.height() == 0
    finally:
        engine.dispose()
