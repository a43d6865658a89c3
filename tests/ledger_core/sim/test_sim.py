"""The simulator runs the real state machine on at least 1,000 seeded schedules, checking
safety and liveness on each; it is deterministic; and it catches a broken locking rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ledger_core.consensus import Tendermint, ValidatorSet
from ledger_core.sim import (
    SCENARIOS,
    SimulationFailure,
    make_schedule,
    replay_command,
    run_schedule,
)
from ledger_core.sim.runner import LIVENESS_BOUND_MS, LIVENESS_HEIGHTS

REPO = Path(__file__).resolve().parents[3]
SEEDS_PER_SCENARIO = 170  # 7 scenarios x 170 = 1,190 schedules
BATCH = 34


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("first", range(0, SEEDS_PER_SCENARIO, BATCH))
def test_schedules_are_safe_and_live(scenario: str, first: int):
    for seed in range(first, first + BATCH):
        res = run_schedule(seed, scenario)  # raises SimulationFailure with its replay command
        assert max(res.heights.values()) >= LIVENESS_HEIGHTS
        assert res.live_after_ms <= LIVENESS_BOUND_MS


def test_scenarios_really_inject_their_faults():
    byz = [make_schedule(s, "byzantine") for s in range(20)]
    assert all(1 <= len(s.byzantine) <= (s.n - 1) // 3 for s in byz)
    assert all(make_schedule(s, "partition").partitions for s in range(20))
    assert all(make_schedule(s, "crash").crashes for s in range(20))
    assert any(make_schedule(s, "lossy").before.loss > 0.2 for s in range(20))
    assert {make_schedule(s, "clean").n for s in range(30)} == {4, 7}
    res = [run_schedule(s, "byzantine") for s in range(10)]
    assert sum(r.rejected for r in res) > 0  # garbage, forgeries, wrong chain ids were refused
    assert sum(r.evidence for r in res) > 0  # double votes were caught
    lossy = run_schedule(3, "lossy")
    assert lossy.dropped > 0


def test_same_seed_same_run():
    a = run_schedule(11, "mixed").summary()
    b = run_schedule(11, "mixed").summary()
    assert a == b
    assert run_schedule(12, "mixed").summary() != a


class NoLocking(Tendermint):
    """A broken Algorithm 1: ignores its lock (lines 22 and 28) and never re-proposes its
    valid value, so nothing carries a possibly decided value into later rounds."""

    def _lock_allows(self, block_id: str, valid_round: int) -> bool:
        return True

    def _start_round(self, r, out) -> None:
        self.valid_value, self.valid_round = None, -1
        super()._start_round(r, out)


def first_safety_failure(engine: type[Tendermint], limit: int) -> SimulationFailure | None:
    for seed in range(limit):
        for scenario in ("mixed", "byzantine"):
            try:
                run_schedule(seed, scenario, engine=engine)
            except SimulationFailure as exc:
                if "safety" in exc.what:
                    return exc
    return None


def test_the_simulator_catches_a_broken_locking_rule():
    # About one schedule in 100 to 150 of these scenarios exposes it (measured on 1,600).
    exc = first_safety_failure(NoLocking, 600)
    assert exc is not None, "no schedule exposed the broken locking rule"
    assert f"seed {exc.seed}" in str(exc)
    assert replay_command(exc.seed, exc.scenario) in str(exc)
    # the same schedule is safe and live with the real algorithm
    run_schedule(exc.seed, exc.scenario)


class SmallQuorum(Tendermint):
    """A broken quorum: floor(2n/3) instead of floor(2n/3)+1 (2 of 4, 4 of 7)."""

    def __init__(self, chain_id, validators, *args, **kwargs):
        weak = ValidatorSet(validators.public_keys)
        weak.quorum -= 1
        super().__init__(chain_id, weak, *args, **kwargs)


def test_the_simulator_catches_a_too_small_quorum():
    for seed in range(100):
        try:
            run_schedule(seed, "byzantine", engine=SmallQuorum)
        except SimulationFailure as exc:
            # either two honest nodes decided differently, or a commit lacks a real quorum
            assert "safety" in exc.what or "signers" in exc.what
            return
    pytest.fail("no schedule exposed the small quorum")


class NoRoundChange(Tendermint):
    """A broken line 65: the precommit timeout never starts the next round."""

    def on_timeout(self, t):
        if t.step == "precommit":
            return []
        return super().on_timeout(t)


def test_the_simulator_catches_a_lost_liveness_rule():
    for seed in range(100):
        try:
            run_schedule(seed, "lossy", engine=NoRoundChange)
        except SimulationFailure as exc:
            assert "liveness" in exc.what
            return
    pytest.fail("no schedule exposed the missing round change")


def test_replay_command_line():
    cmd = replay_command(5, "crash").split()
    assert cmd[:3] == ["python", "-m", "ledger_core.sim"]
    proc = subprocess.run(
        [sys.executable, *cmd[1:], "--json"], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert '"ok": true' in proc.stdout and '"seed": 5' in proc.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "ledger_core.sim", "--scenario", "nope"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert bad.returncode == 2


def hostile_run(seed: int):
    from ledger_core.sim import Simulation

    sim = Simulation(make_schedule(seed, "byzantine_proposer"))
    return sim, sim.run()


def test_a_byzantine_proposer_neither_halts_nor_poisons_the_chain():
    from ledger_core.consensus.timeliness import MAX_DRIFT_MS
    from ledger_core.sim.byzantine import FAR_FUTURE_MS
    from ledger_core.sim.node import CLOCK_BASE_MS, MAX_VALUE_BYTES

    hostile = 0
    for seed in range(12):
        sim, res = hostile_run(seed)
        hostile += sum(getattr(nd, "proposed_hostile", 0) for nd in sim.nodes)
        assert min(res.heights.values()) >= LIVENESS_HEIGHTS  # honest nodes keep deciding
        for nd in sim.nodes:
            if not nd.honest:
                continue
            times = [d.value.payload["time"] for d in nd.chain]
            assert times == sorted(set(times))  # strictly increasing
            limit = CLOCK_BASE_MS + res.virtual_ms + MAX_DRIFT_MS * 2
            assert all(type(t) is int and t < limit < FAR_FUTURE_MS for t in times)
            assert all(len(d.value.payload["pad"]) < MAX_VALUE_BYTES for d in nd.chain)
    assert hostile > 0  # the hostile proposals were made (and refused)
    a = run_schedule(5, "byzantine_proposer").summary()
    assert a == run_schedule(5, "byzantine_proposer").summary()  # deterministic


def test_the_simulator_catches_a_validator_without_the_time_rule(monkeypatch):
    from ledger_core.sim import node as sim_node

    real = sim_node.value_fault

    def no_time_rule(value, height, parent_time, now_ms):
        fault = real(value, height, parent_time, now_ms)
        return None if fault in ("time_in_future", "time_not_after_parent") else fault

    monkeypatch.setattr(sim_node, "value_fault", no_time_rule)
    for seed in range(40):
        try:
            run_schedule(seed, "byzantine_proposer")
        except SimulationFailure as exc:
            assert "validity" in exc.what
            return
    pytest.fail("no schedule let an untimely block be decided")
