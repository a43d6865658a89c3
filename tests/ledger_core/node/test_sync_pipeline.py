"""The fast path of block sync: signatures checked ahead in a worker process (only confirmations
count; a bad signature is still refused in line), commit signatures cached by (key, signature,
message), a peer's request that arrives while its previous batch is still being sent is served
after it (it was dropped, which stalled a catch-up for the 10 s request timeout), and a batch
received by the driver is checked, applied and followed by the request for the next one."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest

from bedrock.canonical import decode
from ledger_core.chain import block as blk
from ledger_core.chain.block import BlockError
from ledger_core.chain.signature_farm import SignatureFarm
from ledger_core.crypto.keys import KeyPair
from ledger_core.crypto.signing import VerifiedCache
from ledger_core.node import block_sync
from ledger_core.node import sync_items as sync
from ledger_core.node.ledger_node import Node
from ledger_core.node.network_producer import ConsensusProducer
from tests.ledger_core.node.test_sync_unit import make_chain, source  # noqa: F401 - the fixture

KID = "ab" * 32


@pytest.fixture(scope="module")
def farm():
    f = SignatureFarm(1)
    yield f
    f.close()


def _verified(farm, jobs):
    return {h for fut in farm.submit(jobs) for h in fut.result(timeout=60)}


def test_the_farm_confirms_good_signatures_only(tmp_path, source, farm):  # noqa: F811
    c, src = source
    dst = make_chain(tmp_path, "dst", c)
    items = [json.loads(x) for x in sync.read_batch(src.store, 1, 100)]
    items[2]["commit"]["signatures"][0]["signature"] = "11" * 64
    parsed, bad = sync.prepare(dst, items)
    assert bad is None and len(parsed) == 6
    jobs = sync.signature_jobs(dst, parsed)
    assert len(jobs) == 6 * 2 + 6  # two transactions and one commit signature per block
    ok = _verified(farm, jobs)
    assert {tx.hash for block, _c in parsed for tx in block.txs} <= ok
    assert len(ok) == len(jobs) - 1  # all but the tampered commit signature
    for h in ok:
        dst.cache.add(h)
    for block, commit in parsed[:2]:
        result = sync.check_parsed(dst, block)
        dst.advance(block, commit, result, dst.check_commit(block, commit))
    block, commit = parsed[2]
    result = sync.check_parsed(dst, block)
    with pytest.raises(BlockError) as err:
        dst.check_commit(block, commit)
    assert err.value.code == "bad_commit_signature"


def test_confirmed_signatures_are_not_verified_again(tmp_path, source, farm, monkeypatch):  # noqa: F811
    c, src = source
    dst = make_chain(tmp_path, "dst", c)
    parsed, _bad = sync.prepare(dst, sync.read_batch(src.store, 1, 100))
    for h in _verified(farm, sync.signature_jobs(dst, parsed)):
        dst.cache.add(h)
    calls = []
    import ledger_core.chain.tx as txm

    def counting(*args):
        calls.append(args)
        return True

    monkeypatch.setattr(blk, "verify", counting)
    monkeypatch.setattr(txm, "verify", counting)
    for block, commit in parsed:
        result = sync.check_parsed(dst, block)
        dst.advance(block, commit, result, dst.check_commit(block, commit))
    assert dst.height == 6 and dst.state.app_hash == src.state.app_hash
    assert calls == []


def test_commit_cache_is_keyed_by_key_signature_and_message(source):  # noqa: F811
    c, src = source
    stored = src.store.block(1)
    commit, bid = stored["commit"], stored["block_id"]
    vals = {c.node.key_id: c.node.public_raw}
    cache = VerifiedCache()
    blk.verify_commit(commit, c.chain_id, 1, bid, vals, cache)
    assert len(cache) == 1
    # the cached entry does not vouch for the same signature over another block id
    other = {**commit, "block_id": "cd" * 32}
    with pytest.raises(BlockError) as err:
        blk.verify_commit(other, c.chain_id, 1, "cd" * 32, vals, cache)
    assert err.value.code == "bad_commit_signature"


class FakeTransport:
    """The Transport surface the sync code uses, recording what is sent."""

    def __init__(self) -> None:
        self.peers = {KID: object()}
        self.sent: list[dict] = []
        self.penalties: list[tuple] = []
        self.gate = asyncio.Event()
        self.gate.set()

    def try_send(self, kid, msg) -> bool:
        self.sent.append(msg)
        return True

    async def send(self, kid, msg, timeout=None) -> None:
        await self.gate.wait()
        self.sent.append(msg)

    async def send_raw(self, kid, data, timeout=None) -> None:
        await self.send(kid, decode(data))

    def broadcast(self, msg, exclude=()) -> None:
        self.sent.append(msg)

    async def recheck_authorization(self) -> list:
        return []

    def remove_peers_of(self, kid) -> None:
        pass

    def penalize(self, kid, reason, points, detail="") -> bool:
        self.penalties.append((kid, reason, points))
        return False


def _producer(tmp_path, chain, c):
    keys = KeyPair.from_seed(hashlib.sha256(b"node").digest())
    assert keys.key_id == c.node.key_id
    p = ConsensusProducer(Node(chain, c.node, tmp_path / "n.sock"), keys, tmp_path)
    p.link.transport = FakeTransport()
    return p


async def _settle(p) -> None:
    for _ in range(500):
        await asyncio.sleep(0.01)
        if not len(p.tasks):
            return
    raise AssertionError("tasks did not finish")


def test_a_request_during_a_send_is_served_after_it(tmp_path, source):  # noqa: F811
    c, src = source
    p = _producer(tmp_path, src, c)

    async def go():
        p.link.transport.gate.clear()  # the first batch's send blocks (a full queue)
        p.sync.on_get_blocks(KID, {"from": 1, "limit": 2})
        await asyncio.sleep(0.2)
        p.sync.on_get_blocks(KID, {"from": 3, "limit": 2})
        p.link.transport.gate.set()
        await _settle(p)

    asyncio.run(go())
    firsts = [sync.item_height(m["blocks"][0]) for m in p.link.transport.sent if m.get("t") == "blocks"]
    assert firsts == [1, 3]


def test_the_driver_applies_a_batch_with_the_farm_and_asks_for_the_next(tmp_path, source, monkeypatch):  # noqa: F811
    c, src = source
    dst = make_chain(tmp_path, "dst", c)
    p = _producer(tmp_path, dst, c)
    monkeypatch.setattr(block_sync, "FARM_MIN_BLOCKS", 1)

    async def go():
        p.sync.peer_heights[KID] = src.height
        p.sync.schedule.asked(KID, 0.0)
        p.sync.on_blocks(KID, {"blocks": sync.read_batch(src.store, 1, 4)})
        await asyncio.sleep(0)
        assert p.sync._farm is not None  # started for the batch
        await _settle(p)
        assert dst.height == 4 and dst.store.height() == 4
        asks = [m for m in p.link.transport.sent if m.get("t") == "get_blocks"]
        assert [a["from"] for a in asks] == [5]
        assert p.sync._farm is not None  # the next batch is on its way: the worker stays
        p.sync.on_blocks(KID, {"blocks": sync.read_batch(src.store, 5, 100)})
        await _settle(p)

    asyncio.run(go())
    # (the only validator then goes on to commit heights of its own)
    assert dst.height >= 6 and dst.store.block(6)["block_id"] == src.store.block(6)["block_id"]
    assert p.sync.schedule.pending is None and p.sync._farm is None  # caught up: the worker is closed


def test_an_empty_answer_is_not_asked_again_at_once(tmp_path, source):  # noqa: F811
    """A peer that announced a height and then serves nothing would otherwise be asked again in a
    tight loop; its height is forgotten until its next status message."""
    c, _src = source
    dst = make_chain(tmp_path, "dst", c)
    p = _producer(tmp_path, dst, c)

    async def go():
        p.sync.peer_heights[KID] = 6
        p.sync.schedule.asked(KID, 0.0)
        p.sync.on_blocks(KID, {"blocks": []})
        await _settle(p)

    asyncio.run(go())
    assert KID not in p.sync.peer_heights and p.sync.schedule.pending is None
    assert not [m for m in p.link.transport.sent if m.get("t") == "get_blocks"]
