"""A deterministic simulator for the consensus state machine.

Runs the real `ledger_core.consensus.tendermint.Tendermint` under a virtual clock and a
seeded scheduler (random.Random only): message delay, loss, duplication and reordering,
partitions that heal, crashes and restarts (the signer state and the block store
survive, memory does not), and up to f Byzantine validators (in `byzantine_proposer`, ones
that propose blocks stamped 2**62 - 1 or the year 3000, or oversized). Every schedule checks
safety (no two honest nodes decide different blocks at one height; decided history
never changes; every commit holds a quorum of valid precommits; no decided value breaks the
block rules, its time included) and liveness (after
stabilisation, every honest node that is up decides new heights within a bounded
virtual time). Replay one schedule with `python -m ledger_core.sim --seed N --scenario S`.
"""

from .runner import (
    SCENARIOS,
    Schedule,
    SimResult,
    Simulation,
    SimulationFailure,
    make_schedule,
    replay_command,
    run_schedule,
)

__all__ = [
    "SCENARIOS",
    "Schedule",
    "SimResult",
    "Simulation",
    "SimulationFailure",
    "make_schedule",
    "replay_command",
    "run_schedule",
]
