"""Issue 13's findings against one node in process: a registered key's sync answer, a Byzantine
proposer's time jump, the worst-case block. Each fails on the code before its fix.

The node is a real `ConsensusProducer` whose transport is a recorder; messages go through the
router exactly as the Transport delivers them.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

from bedrock.canonical import canonical, decode
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain import genesis as gen
from ledger_core.chain import tx as txm
from ledger_core.chain.block import MAX_BLOCK_BYTES
from ledger_core.chain.replica import Chain
from ledger_core.chain.store import LedgerStore
from ledger_core.consensus.messages import Proposal, sign
from ledger_core.crypto.domains import DOMAIN_TX, signing_bytes
from ledger_core.crypto.keys import KeyPair
from ledger_core.net.peer import PeerConfig
from ledger_core.net.peer_score import FATAL
from ledger_core.node import sync_items as sync
from ledger_core.node.ledger_node import Node
from ledger_core.node.network_producer import ConsensusProducer
from tests.ledger_core.node.test_sync_pipeline import FakeTransport, _settle
from tests.ledger_core.node.test_sync_unit import make_chain
from tests.support.ledger_world import consortium, produce, report, signer


def _producer(tmp_path, chain: Chain, seed_name: str, kid: str) -> ConsensusProducer:
    keys = KeyPair.from_seed(hashlib.sha256(seed_name.encode()).digest())
    p = ConsensusProducer(Node(chain, signer(seed_name), tmp_path / f"{seed_name}.sock"), keys,
                          tmp_path)
    fake = FakeTransport()
    fake.peers = {kid: object()}
    p.link.transport = fake
    return p


def test_a_sync_item_with_an_unhashable_proposal_action_bans_the_peer_not_the_node(tmp_path):
    """Finding 1: status at 2**62, then a block holding `member.propose` with `action: []`."""
    c = consortium(1)
    src = make_chain(tmp_path, "src", c)
    produce(src, c.node, [report(c.devices[0], c.chain_id, 1)])
    item = decode(sync.read_batch(src.store, 1, 1)[0])
    body = {"chain_id": c.chain_id, "type": "member.propose", "sender": c.node.key_id, "nonce": 1,
            "time": 1_700_000_000_000, "payload": {"action": [], "note": ""}}
    sig = c.node.sign(signing_bytes(DOMAIN_TX, c.chain_id, body))  # a valid key's signature
    item["block"]["txs"] = [{"body": body, "signature": sig.hex()}]
    hostile = "ee" * 32
    dst = make_chain(tmp_path, "dst", c)
    p = _producer(tmp_path, dst, "node", hostile)

    async def go():
        p.router.dispatch(hostile, {"t": "status", "height": 2**62})
        asks = [m for m in p.link.transport.sent if m.get("t") == "get_blocks"]
        assert asks and asks[0]["from"] == 1
        p.router.dispatch(hostile, {"t": "blocks", "blocks": [item]})
        await _settle(p)

    asyncio.run(go())
    assert p.tasks.failure is None and not p.tasks.stopping.is_set()
    assert dst.height == 0
    assert (hostile, "bad_tx", FATAL) in p.link.transport.penalties


def _two_validators():
    a, b = signer("node-a"), signer("node-b")
    parts = [gen.participant_entry(a.public_raw, "acme", "node-a", "node", ["validator"]),
             gen.participant_entry(b.public_raw, "qc", "node-b", "node", ["validator"])]
    orgs = [{"id": "acme", "name": "ACME", "roles": ["validator"]},
            {"id": "qc", "name": "QC", "roles": ["validator"]}]
    return gen.make("t", int(time.time() * 1000) - 60_000, orgs, parts, [a.key_id, b.key_id]), a, b


def _chain(tmp_path, name, g) -> Chain:
    from app.db import make_engine, sqlite_url

    return Chain(LedgerStore(make_engine(sqlite_url(tmp_path / f"{name}.sqlite"))), g,
                 rules=LEDGER_RULES)


def _proposal_by(sm, signer_b, chain_b: Chain, time_ms: int) -> dict:
    block, _result = chain_b.propose([], signer_b.key_id, time_ms)
    r = next(r for r in range(8) if sm.validators.proposer(1, r) == signer_b.key_id)
    m = sign(chain_b.chain_id, Proposal(1, r, block.id, -1), signer_b.key_id, signer_b.sign,
             block.to_obj())
    return {"t": "cons", "m": m.to_wire()}


def test_a_proposal_stamped_far_ahead_is_refused_and_its_author_banned(tmp_path):
    """Finding 2: a Byzantine proposer stamps 2**62 - 1 (the chain would halt: every later header
    fails its schema) or the year 3000 (every certificate's valid_until passes)."""
    g, _a, b = _two_validators()
    chain_a, chain_b = _chain(tmp_path, "a", g), _chain(tmp_path, "b", g)
    p = _producer(tmp_path, chain_a, "node-a", b.key_id)
    year_3000 = 32_503_680_000_000

    async def go():
        p.consensus.start_next_height()
        for stamp in (2**62 - 1, year_3000):
            p.router.dispatch(b.key_id, _proposal_by(p.consensus.sm, b, chain_b, stamp))
        assert not p.consensus._checked  # neither was taken as valid
        ok = _proposal_by(p.consensus.sm, b, chain_b, int(time.time() * 1000))
        p.router.dispatch(b.key_id, ok)
        assert len(p.consensus._checked) == 1  # an honest proposal still goes through
        await asyncio.sleep(0)

    asyncio.run(go())
    reasons = [(kid, why) for kid, why, pts in p.link.transport.penalties if pts == FATAL]
    assert reasons == [(b.key_id, "time_in_future")] * 2


def test_the_worst_case_block_fits_one_sync_message_and_a_fresh_node_syncs_it(tmp_path):
    """Finding 3: rating comments of 500 `"` (escaped twice when items travelled as JSON strings:
    a 3.1 MB proposal became a 5.2 MB sync message, over the 4 MiB frame)."""
    c = consortium(1)
    src = make_chain(tmp_path, "src", c)
    txs = [txm.make(c.expert, c.chain_id, "rating.submit", n,
                    {"subject_kind": "org", "subject": "qc", "judges": c.other_expert.key_id,
                     "positive": 1, "negative": 0, "comment": '"' * 500}, 1_700_000_000_000)
           for n in range(1, 2601)]
    block, _result = produce(src, c.node, txs)
    assert 2000 < len(block.txs) < len(txs)  # the proposer stopped at the size bound
    assert len(canonical(block.to_obj())) == block.encoded_size() <= MAX_BLOCK_BYTES
    items = sync.read_batch(src.store, 1, 200)
    data = sync.blocks_bytes(items)
    max_message = PeerConfig().max_message
    assert len(items) == 1 and len(data) <= max_message
    message = decode(data, max_bytes=max_message)  # what the receiving peer decodes: canonical
    dst = make_chain(tmp_path, "dst", c)
    parsed, bad = sync.prepare(dst, message["blocks"])
    assert bad is None
    (got, commit), = parsed
    result = sync.check_parsed(dst, got)
    dst.advance(got, commit, result, dst.check_commit(got, commit))
    assert dst.state.app_hash == src.state.app_hash


def test_a_peer_flooding_transactions_is_cut_off_at_its_budget(tmp_path):
    """Finding 6 (and the tx_flood scenario): valid transactions of one key, as fast as the link
    allows. The sender's quota keeps the mempool, the per-peer budget the node's time."""
    from ledger_core.net.peer_score import SERIOUS
    from ledger_core.node.tx_gossip import TX_BUDGET_PER_S, TX_GOSSIP_BATCH

    c = consortium(1)
    flooder = "ee" * 32
    p = _producer(tmp_path, make_chain(tmp_path, "dst", c), "node", flooder)
    envs = [report(c.devices[0], c.chain_id, n).envelope() for n in range(1, TX_GOSSIP_BATCH + 1)]

    async def go():
        for _ in range(2 * TX_BUDGET_PER_S // TX_GOSSIP_BATCH + 2):
            p.router.dispatch(flooder, {"t": "txs", "txs": envs})
        p.router.dispatch(flooder, {"t": "txs", "txs": envs * 3})

    asyncio.run(go())
    assert len(p.node.mempool) == p.node.mempool.max_sender_txs == 2000
    penalties = [(why, pts) for kid, why, pts in p.link.transport.penalties if kid == flooder]
    assert ("tx_flood", SERIOUS) in penalties and penalties[-1] == ("oversized_txs", SERIOUS)


def test_double_signing_found_by_the_node_bans_the_signer(tmp_path):
    """The equivocation scenario: two signed prevotes of one validator for one height and round
    are proof; the evidence is kept and the signer banned."""
    from ledger_core.consensus.evidence import DoubleSign
    from ledger_core.consensus.messages import Vote

    g, _a, b = _two_validators()
    p = _producer(tmp_path, _chain(tmp_path, "a", g), "node-a", b.key_id)
    votes = [sign(g.chain_id, Vote("prevote", 1, 0, bid), b.key_id, b.sign) for bid in ("1" * 64, "2" * 64)]
    p.evidence.keep(DoubleSign.of(*votes))
    assert (b.key_id, "double_sign", FATAL) in p.link.transport.penalties
    assert len(p.evidence.pool) == 1


def test_an_absent_proposer_costs_a_quarter_second_not_a_propose_timeout(tmp_path):
    """A crashed or banned validator's turns: the propose step ends as soon as we see nobody to
    propose (prevote nil, the machine's own timeout rule fired early)."""
    from ledger_core.node.consensus_reactor import ABSENT_PROPOSER_S

    g, a, b = _two_validators()
    proposer = sorted([a.key_id, b.key_id])[1]  # round robin: height 1, round 0
    me = "node-a" if proposer == b.key_id else "node-b"
    p = _producer(tmp_path, _chain(tmp_path, "a", g), me, "ff" * 32)  # the proposer: not connected

    async def go():
        p.consensus.start_next_height()
        sm = p.consensus.sm
        assert sm.validators.proposer(1, 0) == proposer != p.keys.key_id
        t0 = p.consensus._progress[2]
        p.consensus.tick(t0 + ABSENT_PROPOSER_S / 2, True)
        assert sm.step == "propose"
        p.consensus.tick(t0 + ABSENT_PROPOSER_S, True)
        assert sm.step == "prevote" and sm.round == 0

    asyncio.run(go())


def test_a_node_paces_its_own_gossip_under_the_budget_its_peers_enforce(tmp_path, monkeypatch):
    """Honest gossip never trips a peer's transaction budget (which bans): beyond 90% of it, our
    messages are held back, in order, for as long as the budget needs."""
    from ledger_core.node import tx_gossip

    monkeypatch.setattr(tx_gossip, "TX_BUDGET_PER_S", 100)
    c = consortium(1)
    p = _producer(tmp_path, make_chain(tmp_path, "n", c), "node", "ee" * 32)
    txs = [report(c.devices[0], c.chain_id, n) for n in range(1, 401)]
    later: list[float] = []

    async def go():
        loop = asyncio.get_running_loop()
        monkeypatch.setattr(loop, "call_later", lambda d, fn, *a: later.append(d))
        for chunk in (txs[:150], txs[150:300], txs[300:]):
            for tx in chunk:
                p.txs.queue(tx)
            p.txs.flush()

    asyncio.run(go())
    sent = [m for m in p.link.transport.sent if m.get("t") == "txs"]
    assert [len(m["txs"]) for m in sent] == [150]  # within the burst of 2 x 90
    # 150 more: 120 tokens short at 90/s; then 100 more after those
    assert [round(d, 2) for d in later] == [1.33, 2.44]
