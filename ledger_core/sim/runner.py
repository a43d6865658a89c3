"""Seeded schedules, the simulation that runs them, and the safety and liveness checks.

`run_schedule(seed, scenario)` is deterministic: the same seed and scenario give the same
run, event for event. A violated property raises SimulationFailure, whose message names
the seed and the one-line command that replays it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from bedrock.canonical import sha256
from bedrock.errors import CodedError
from ledger_core.consensus.messages import PRECOMMIT, CachedVerifier
from ledger_core.consensus.tendermint import Decide, Tendermint, TimeoutConfig
from ledger_core.consensus.validators import ValidatorSet
from ledger_core.crypto.keys import KeyPair

from .byzantine import ByzantineNode, ByzantineProposer
from .network import LinkFaults, Network, Partition
from .node import MAX_SKEW_MS, SimNode, value_fault
from .scheduler import Scheduler

SCENARIOS = ("clean", "lossy", "partition", "crash", "byzantine", "mixed", "byzantine_proposer")
CHAIN_ID = "sim-chain"
TIMEOUTS = TimeoutConfig(300, 100, 200, 100, 200, 100)
GOSSIP_MS = 1000
COMMIT_MS = 200
LIVENESS_HEIGHTS = 2
# After stabilisation, every honest node that is up must decide LIVENESS_HEIGHTS new
# heights within this much virtual time.
LIVENESS_BOUND_MS = 60_000

_KEYS: dict[int, KeyPair] = {}
_VERIFIER = CachedVerifier(max_entries=200_000)


def sim_key(i: int) -> KeyPair:
    """Fixed, deterministic validator keys (real Ed25519)."""
    if i not in _KEYS:
        _KEYS[i] = KeyPair.from_seed(sha256(f"bcmlp-sim-validator-{i}".encode()))
    return _KEYS[i]


def replay_command(seed: int, scenario: str) -> str:
    return f"python -m ledger_core.sim --seed {seed} --scenario {scenario}"


class SimulationFailure(CodedError, AssertionError):
    """A simulated run broke a safety or liveness property; the message says how to replay it."""

    code = "simulation_failed"
    exit_code = 1

    def __init__(self, seed: int, scenario: str, what: str, trace: list[str] | None = None) -> None:
        self.seed, self.scenario, self.what = seed, scenario, what
        self.trace = trace or []
        super().__init__(
            f"seed {seed}, scenario {scenario}: {what}\nreplay: {replay_command(seed, scenario)}"
        )


@dataclass(frozen=True)
class Schedule:
    seed: int
    scenario: str
    n: int
    byzantine: tuple[int, ...]
    before: LinkFaults
    after: LinkFaults
    gst_ms: int
    partitions: tuple[Partition, ...] = ()
    crashes: tuple[tuple[int, int, int | None], ...] = ()  # (node, down at, up at or None)

    @property
    def stable_ms(self) -> int:
        """When the network is stable: GST, healed partitions, restarted nodes."""
        t = self.gst_ms
        for p in self.partitions:
            t = max(t, p.end_ms)
        for _, _, up in self.crashes:
            if up is not None:
                t = max(t, up)
        return t


def make_schedule(seed: int, scenario: str) -> Schedule:
    """Draw a schedule for `scenario` from random.Random(seed)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r} (one of {', '.join(SCENARIOS)})")
    rng = random.Random(f"{scenario}:{seed}")
    n = rng.choice((4, 4, 7))
    f = (n - 1) // 3
    quorum = 2 * n // 3 + 1
    gst = rng.randint(1000, 6000)
    after = LinkFaults(1, rng.choice((20, 50, 100)))
    calm = LinkFaults(1, rng.choice((10, 50, 150)))
    rough = LinkFaults(
        1, rng.choice((100, 300, 800)), rng.uniform(0.05, 0.4), rng.uniform(0.0, 0.3)
    )
    byz: tuple[int, ...] = ()
    partitions: list[Partition] = []
    crashes: list[tuple[int, int, int | None]] = []

    def draw_partitions(k: int) -> None:
        # Long splits and short flaps (a flaky switch isolating one node for a moment).
        t = rng.randint(0, 1000)
        for _ in range(k):
            nodes = list(range(n))
            rng.shuffle(nodes)
            cut = rng.choice((1, rng.randint(1, n - 1)))
            groups = (frozenset(nodes[:cut]), frozenset(nodes[cut:]))
            length = rng.choice((rng.randint(50, 600), rng.randint(300, 4000)))
            partitions.append(Partition(t, t + length, groups))
            t += length + rng.randint(0, 800)

    def draw_crashes(max_down: int, honest: list[int]) -> None:
        stay = rng.sample(honest, rng.randint(0, max_down))
        for node in stay:
            crashes.append((node, rng.randint(0, gst), None))
        others = [i for i in honest if i not in stay]
        for node in rng.sample(others, rng.randint(1, len(others))):
            t = 0
            for _ in range(rng.randint(1, 2)):  # one or two separate outages
                down = rng.randint(t, t + gst)
                t = down + rng.randint(100, 3000)
                crashes.append((node, down, t))
                t += rng.randint(1, 1000)

    before = calm
    if scenario == "lossy":
        before = rough
    elif scenario == "partition":
        before = rng.choice((calm, rough))
        draw_partitions(rng.randint(1, 6))
    elif scenario == "crash":
        before = rng.choice((calm, rough))
        draw_crashes(n - quorum, list(range(n)))
    elif scenario in ("byzantine", "byzantine_proposer"):
        before = rng.choice((calm, rough))
        byz = tuple(sorted(rng.sample(range(n), rng.randint(1, f))))
    elif scenario == "mixed":
        before = rough
        byz = tuple(sorted(rng.sample(range(n), rng.randint(0, f))))
        draw_partitions(rng.randint(0, 5))
        honest = [i for i in range(n) if i not in byz]
        draw_crashes(n - quorum - len(byz), honest)
    return Schedule(seed, scenario, n, byz, before, after, gst, tuple(partitions), tuple(crashes))


@dataclass
class SimResult:
    seed: int
    scenario: str
    n: int
    byzantine: int
    heights: dict[int, int]
    virtual_ms: int
    stable_ms: int
    live_after_ms: int
    messages: int
    dropped: int
    rejected: int
    evidence: int
    events: int
    trace: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "scenario": self.scenario,
            "n": self.n,
            "byzantine": self.byzantine,
            "heights": [self.heights[k] for k in sorted(self.heights)],
            "virtual_ms": self.virtual_ms,
            "stable_ms": self.stable_ms,
            "live_after_ms": self.live_after_ms,
            "messages": self.messages,
            "dropped": self.dropped,
            "rejected": self.rejected,
            "evidence": self.evidence,
            "events": self.events,
            "ok": True,
        }


class Simulation:
    def __init__(
        self, schedule: Schedule, engine: type[Tendermint] = Tendermint, trace: bool = False
    ) -> None:
        self.schedule = schedule
        self.engine = engine
        self.chain_id = CHAIN_ID
        self.timeouts = TIMEOUTS
        self.gossip_ms = GOSSIP_MS
        self.commit_ms = COMMIT_MS
        self.verifier = _VERIFIER
        self.rng = random.Random(schedule.seed)
        self.sched = Scheduler()
        self.net = Network(
            self.sched,
            self.rng,
            schedule.before,
            schedule.after,
            schedule.gst_ms,
            schedule.partitions,
        )
        keys = [sim_key(i) for i in range(schedule.n)]
        self.validators = ValidatorSet([k.public_raw for k in keys])
        byzantine = ByzantineProposer if schedule.scenario == "byzantine_proposer" else ByzantineNode
        self.nodes: list[SimNode] = [
            (byzantine if i in schedule.byzantine else SimNode)(self, i, keys[i])
            for i in range(schedule.n)
        ]
        self.net.receivers = [node.receive for node in self.nodes]
        self.decided: dict[int, str] = {}
        self.tracing = trace
        self.trace: list[str] = []

    def clock_skew(self, i: int) -> int:
        """Node i's fixed clock skew (its own seeded stream: the schedule's stays as it was)."""
        return random.Random(f"clock:{self.schedule.seed}:{i}").randint(-MAX_SKEW_MS, MAX_SKEW_MS)

    def peers_of(self, i: int) -> list[int]:
        return [j for j in range(self.schedule.n) if j != i]

    def fail(self, what: str) -> None:
        raise SimulationFailure(self.schedule.seed, self.schedule.scenario, what, self.trace)

    def log(self, text: str) -> None:
        if self.tracing:
            self.trace.append(f"{self.sched.now:>7} ms  {text}")

    # -- properties ----------------------------------------------------------------------

    def on_decide(self, node: SimNode, d: Decide) -> None:
        self.log(
            f"node {node.index} decides height {d.height} round {d.round} block {d.value.block_id[:12]}"
        )
        if not node.honest:
            return
        if d.height != len(node.chain) + 1:
            self.fail(
                f"node {node.index} decided height {d.height} with {len(node.chain)} blocks in its chain"
            )
        self._check_commit(node, d)
        fault = value_fault(d.value, d.height, node.parent_time(d.height), node.clock())
        if fault is not None:
            self.fail(f"validity: node {node.index} decided height {d.height} with a value "
                      f"that breaks the block rules ({fault}): {str(d.value.payload)[:120]}")
        seen = self.decided.setdefault(d.height, d.value.block_id)
        if seen != d.value.block_id:
            self.fail(
                f"safety: node {node.index} decided {d.value.block_id[:16]} at height {d.height}, "
                f"another honest node decided {seen[:16]}"
            )

    def _check_commit(self, node: SimNode, d: Decide) -> None:
        vs = self.validators
        signers = set()
        for v in d.commit:
            ok = (
                v.type == PRECOMMIT
                and (v.height, v.round, v.block_id) == (d.height, d.round, d.value.block_id)
                and v.validator in vs
                and self.verifier(vs.public_key(v.validator), v.signature, v.sign_bytes())
            )
            if not ok:
                self.fail(
                    f"node {node.index}: the commit of height {d.height} holds a bad precommit"
                )
            signers.add(v.validator)
        if len(signers) < vs.quorum:
            self.fail(
                f"node {node.index}: the commit of height {d.height} has {len(signers)} < {vs.quorum} signers"
            )

    def _check_histories(self) -> None:
        for node in self.nodes:
            if not node.honest:
                continue
            for i, d in enumerate(node.chain, start=1):
                if self.decided.get(i) != d.value.block_id:
                    self.fail(
                        f"history: node {node.index}'s block at height {i} differs from the decided one"
                    )

    # -- running -------------------------------------------------------------------------

    def _crash(self, i: int) -> None:
        self.log(f"node {i} crashes")
        self.nodes[i].crash()

    def _restart(self, i: int) -> None:
        self.log(f"node {i} restarts at height {len(self.nodes[i].chain) + 1}")
        self.nodes[i].boot()

    def run(self) -> SimResult:
        s = self.schedule
        for node in self.nodes:
            node.boot()
        for i, down, up in s.crashes:
            self.sched.at(down, self._crash, i)
            if up is not None:
                self.sched.at(up, self._restart, i)
        for p in s.partitions:
            self.sched.at(p.start_ms, self.log, f"partition {[sorted(g) for g in p.groups]}")
            self.sched.at(p.end_ms, self.log, "partition healed")
        stable = s.stable_ms
        self.sched.run_until(stable)
        self._check_histories()
        live = [nd for nd in self.nodes if nd.honest and nd.up]
        if len(live) < self.validators.quorum:
            self.fail(f"schedule error: only {len(live)} honest validators up after stabilisation")
        target = {nd.index: len(nd.chain) + LIVENESS_HEIGHTS for nd in live}

        def done() -> bool:
            return all(len(nd.chain) >= target[nd.index] for nd in live)

        deadline = stable + LIVENESS_BOUND_MS
        self.sched.run_until(deadline, done)
        self._check_histories()
        if not done():
            lag = {
                nd.index: (len(nd.chain), nd.sm.status() if nd.sm else None)
                for nd in live
                if len(nd.chain) < target[nd.index]
            }
            self.fail(
                f"liveness: {LIVENESS_BOUND_MS} ms after stabilisation at {stable} ms, nodes "
                f"{sorted(lag)} did not decide {LIVENESS_HEIGHTS} new heights: {lag}"
            )
        return SimResult(
            seed=s.seed,
            scenario=s.scenario,
            n=s.n,
            byzantine=len(s.byzantine),
            heights={nd.index: len(nd.chain) for nd in self.nodes if nd.honest},
            virtual_ms=self.sched.now,
            stable_ms=stable,
            live_after_ms=self.sched.now - stable,
            messages=self.net.sent,
            dropped=self.net.dropped,
            rejected=sum(nd.rejected for nd in self.nodes if nd.honest),
            evidence=sum(len(nd.evidence) for nd in self.nodes if nd.honest),
            events=self.sched.events,
            trace=self.trace,
        )


def run_schedule(
    seed: int, scenario: str, engine: type[Tendermint] = Tendermint, trace: bool = False
) -> SimResult:
    """Run one seeded schedule with the real (or a given) state machine; raises SimulationFailure."""
    return Simulation(make_schedule(seed, scenario), engine, trace).run()
