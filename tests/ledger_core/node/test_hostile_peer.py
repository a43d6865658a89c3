"""A hostile consortium member (`app.hostile`): a registered validator key that misbehaves.

In process: hostile messages from `app.hostile.payloads` (drawn with hypothesis seeds, and
hypothesis' own JSON values in every field) go straight into a real `ConsensusProducer`'s router,
as the Transport delivers them, and its spawned tasks run; nothing raises, the node keeps
running, and no check raised anything but its own refusal (the node's catch-alls turn such an
exception into a penalty whose reason or detail says so: `UNEXPECTED`).

With processes (slow): 3 honest `bcmlp node` validators and the hostile process holding the 4th
validator key; the honest nodes stay up, keep committing and ban the hostile key.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.commands.bench_ledger_cmd import setup_consortium
from app.commands.cluster_procs import stop_all
from app.db import make_engine, sqlite_url
from app.hostile import cluster as hc
from app.hostile import payloads
from app.services.node_key import node_key_path
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain.replica import Chain
from ledger_core.chain.store import LedgerStore
from ledger_core.crypto.keys import read_private_key
from ledger_core.crypto.signing import Signer
from ledger_core.node.ledger_node import Node
from ledger_core.node.network_producer import ConsensusProducer
from tests.ledger_core.node.test_sync_pipeline import FakeTransport, _settle
from tests.ledger_core.node.test_sync_unit import json_values
from tests.support.cluster import FAST

FIELDS = {  # the fields of each peer message type that hypothesis fills with any JSON value
    "cons": ("m",), "txs": ("txs",), "status": ("height",), "get_blocks": ("from", "limit"),
    "blocks": ("blocks",), "evidence": ("e",),
}


# what the node reports when a check raised something else than its own refusal: a hostile
# value got past a typed check (the node survives it, but the check is wrong)
UNEXPECTED = ("handler_error", "check_failed", "proposal_check_failed")


class DetailTransport(FakeTransport):
    """The recording transport, keeping each penalty's detail too."""

    def __init__(self) -> None:
        super().__init__()
        self.details: list[tuple[str, str]] = []

    def penalize(self, kid, reason, points, detail=""):
        self.details.append((reason, detail))
        return super().penalize(kid, reason, points, detail)


class Target:
    """A validator's real ConsensusProducer (recording transport) on its own loop, and the
    context of the other validator, whose key signs the hostile messages."""

    def __init__(self, base) -> None:
        g, _devices, roots = setup_consortium(base, 2, 1)
        me, other = (read_private_key(node_key_path(r), None) for r in roots)
        self.hostile = other.key_id
        engine = make_engine(sqlite_url(base / "me.sqlite"))
        self.chain = Chain(LedgerStore(engine), g, rules=LEDGER_RULES)
        self.loop = asyncio.new_event_loop()
        self.p = ConsensusProducer(Node(self.chain, Signer(me.seed), base / "me.sock"), me, base)
        self.fake = DetailTransport()
        self.fake.peers = {self.hostile: object()}
        self.p.link.transport = self.fake
        self.loop.run_until_complete(self._start())
        self.ctx = payloads.Context(g.chain_id, other.key_id, other.sign, 1, max_string=2048)

    async def _start(self) -> None:
        self.p.consensus.start_next_height()

    def feed(self, msgs: list[dict]) -> None:
        self.ctx.height = self.chain.height + 1
        self.ctx.round = self.p.consensus.sm.round

        async def go() -> None:
            for msg in msgs:
                if msg.get("t") == "blocks":  # an answer is only taken from a peer asked
                    self.p.router.dispatch(self.hostile, {"t": "status", "height": 2**40})
                self.p.router.dispatch(self.hostile, msg)
                await asyncio.sleep(0)
            await _settle(self.p)

        self.loop.run_until_complete(go())

    def check(self) -> None:
        assert self.p.tasks.failure is None
        assert not self.p.tasks.stopping.is_set()
        failed = [(r, d) for r, d in self.fake.details
                  if r in UNEXPECTED or "could not be parsed" in d]
        assert not failed, f"a check raised on a hostile value: {failed[:3]}"

    def close(self) -> None:
        self.loop.run_until_complete(self.p.tasks.close())
        self.p.sync.close()
        self.loop.close()
        self.chain.store.engine.dispose()


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    t = Target(tmp_path_factory.mktemp("hostile-target"))
    yield t
    t.close()


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@SETTINGS
@given(seed=st.integers(0, 2**64 - 1), kind=st.sampled_from(payloads.KINDS))
def test_generated_hostile_messages_are_refused_and_the_node_runs_on(target, seed, kind):
    rng = random.Random(seed)
    target.feed([payloads.message_of(kind, rng, target.ctx) for _ in range(3)])
    target.check()


@SETTINGS
@given(kind=st.sampled_from(sorted(FIELDS)), data=st.data())
def test_any_json_in_any_field_is_refused_and_the_node_runs_on(target, kind, data):
    msg = {"t": kind, **{f: data.draw(json_values, label=f) for f in FIELDS[kind]}}
    target.feed([msg])
    target.check()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 2**64 - 1))
def test_signed_proposals_with_hostile_blocks_are_refused(target, seed):
    """The hostile validator's own turn: a signed proposal whose block is broken."""
    rng = random.Random(seed)
    target.feed([payloads.message_of("cons", rng, target.ctx) for _ in range(3)])
    target.check()
    assert target.chain.height == 0  # nothing hostile was decided


def test_the_generator_is_seeded_and_stays_canonical():
    from bedrock.canonical import canonical
    from ledger_core.crypto.keys import KeyPair

    k = KeyPair.from_seed(b"k" * 32)
    ctx = payloads.Context("ab" * 32, k.key_id, k.sign, 3)
    a = [payloads.message(random.Random(s), ctx) for s in range(200)]
    b = [payloads.message(random.Random(s), ctx) for s in range(200)]
    assert [canonical(m) for m in a] == [canonical(m) for m in b]
    assert {m["t"] for m in a} >= {"cons", "txs", "status", "get_blocks", "blocks", "evidence"}


# -- real processes ------------------------------------------------------------------------

RUN_S = 8.0
BAN_WITHIN_S = 15.0


@pytest.fixture
def run_hostile(tmp_path):
    made: list[hc.HostileCluster] = []

    def run(scenario: str, full_nodes: int = 0) -> hc.HostileCluster:
        c = hc.make(tmp_path, scenario, seed=1, extra_args=FAST, full_nodes=full_nodes)
        made.append(c)
        c.start()
        return c

    yield run
    for c in made:
        stop_all(c.procs)


def survives(c: hc.HostileCluster, seconds: float = RUN_S, min_blocks: int = 3,
             banned: bool = True) -> None:
    """The honest nodes keep running and committing for `seconds`, and (if `banned`) every
    one of them lists the hostile key in its bans within BAN_WITHIN_S."""
    start = min(c.heights())
    t0 = time.monotonic()
    banned_at = None
    rss0 = max(hc.rss_mb(p) or 0 for p in c.honest)
    rss = rss0
    while time.monotonic() - t0 < max(seconds, BAN_WITHIN_S if banned else 0):
        assert all(p.running for p in c.honest), "an honest node stopped"
        rss = max(rss, *(hc.rss_mb(p) or 0 for p in c.honest))
        if banned_at is None and hc.banned_by_all(c.honest, c.hostile_key):
            banned_at = time.monotonic() - t0
        if time.monotonic() - t0 >= seconds and (banned_at is not None or not banned):
            break
        time.sleep(0.3)
    gained = min(c.heights()) - start
    assert gained >= min_blocks, f"honest nodes gained {gained} blocks: {c.heights()}"
    assert rss < max(2 * rss0, rss0 + 150), f"honest RSS grew from {rss0:.0f} to {rss:.0f} MB"
    if banned:
        assert banned_at is not None, [hc.bans_of(p) for p in c.honest]


@pytest.mark.slow
def test_sync_poison_is_banned_and_the_consortium_goes_on(run_hostile):
    survives(run_hostile("sync_poison"))


@pytest.mark.slow
def test_a_time_jumping_proposer_is_banned_and_no_untimely_block_commits(run_hostile):
    c = run_hostile("time_jump")
    survives(c)
    head = c.honest[0].status()
    assert head["last_time"] < time.time() * 1000 + 60_000  # no block from the future


@pytest.mark.slow
def test_never_reading_peer_costs_no_memory_and_no_progress(run_hostile):
    survives(run_hostile("never_reads"), banned=False)


@pytest.mark.slow
def test_fuzzing_peer_is_banned_and_the_consortium_goes_on(run_hostile):
    survives(run_hostile("fuzz"))


@pytest.mark.slow
def test_a_fresh_node_syncs_a_chain_with_worst_case_blocks(run_hostile):
    """oversized_block proposes blocks above the limit and floods worst-case transactions;
    ratings of 500 `"`/`\\` characters fill honest blocks to the limit; then a fresh full node
    syncs that chain."""
    c = run_hostile("oversized_block", full_nodes=1)
    h0 = min(c.heights())
    hc.worst_ratings(c, 3000)

    def worst_block_committed() -> bool:
        assert all(p.running for p in c.honest), "an honest node stopped"
        return (min(c.heights()) > h0
                and hc.largest_sync_message(c.honest[0].root)[1] > 1_000_000)

    # a block of worst-case transactions takes seconds to build and check
    assert hc.wait_until(worst_block_committed, 60, step=1.0), c.heights()
    target = max(c.heights())
    fresh = c.extra[0]
    fresh.start()
    fresh.wait_ready(60)
    assert hc.wait_until(lambda: hc.height(fresh) >= target, 60), (hc.height(fresh), target)
    assert all(p.running for p in c.honest)


@pytest.mark.slow
def test_an_equivocating_validator_is_caught_and_banned(run_hostile):
    c = run_hostile("equivocation")
    survives(c)
    for p in c.honest:  # every honest node kept the evidence of the double signing
        assert (p.root / "evidence.jsonl").exists(), p.root.name


@pytest.mark.slow
def test_a_validator_flooding_valid_transactions_does_not_stall_the_others(run_hostile):
    survives(run_hostile("tx_flood"), banned=False)
