"""The evidence reactor: double-sign evidence, `{"t": "evidence", "e": <DoubleSign JSON>}`.

Evidence from a peer is kept only when both signatures verify against the current validator
set and its height is recent (within `EVIDENCE_MAX_AGE` of the head: older sets may differ);
`check_peer_evidence` is that pure check. Kept evidence (new to the pool, including the
consensus reactor's own finds) bans the double signer (two signatures are proof), is appended to `<data-dir>/evidence.jsonl` (fsynced) and passed
on to every peer but the one it came from; an offence already known goes no further, so gossip
ends. Bad evidence is logged and dropped, and costs the sender `MINOR` points (stale
evidence can come from an honest peer that lags).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger_core.consensus import DoubleSign, EvidenceError, EvidencePool, ValidatorSet
from ledger_core.net.peer_score import FATAL, MINOR
from ledger_core.node.router import Handler
from ledger_core.node.runtime import Reactor, Shared

log = logging.getLogger("bcmlp.consensus")

EVIDENCE_MAX_AGE = 1000  # heights: older evidence from peers is not checked or kept


def check_peer_evidence(obj: Any, chain_id: str, head: int, validators: ValidatorSet) -> DoubleSign:
    """The evidence in `obj` when it is well formed, recent and proven; else EvidenceError."""
    ev = DoubleSign.from_json(obj, chain_id)
    if not head - EVIDENCE_MAX_AGE <= ev.height <= head + 1:
        raise EvidenceError("stale", f"evidence for height {ev.height} is not recent")
    ev.verify(validators)
    return ev


class EvidenceGossip(Reactor):
    """Evidence pool and gossip for one node (see module docstring); `validators()` is the
    current validator set."""

    def __init__(
        self, shared: Shared, data_dir: Path, validators: Callable[[], ValidatorSet]
    ) -> None:
        super().__init__(shared)
        self.path = Path(data_dir) / "evidence.jsonl"
        self.validators = validators
        self.pool = EvidencePool()

    def routes(self) -> dict[str, Handler]:
        return {"evidence": self.on_evidence}

    def on_evidence(self, kid: str, msg: dict[str, Any]) -> None:
        try:
            ev = check_peer_evidence(
                msg.get("e"), self.chain.chain_id, self.chain.height, self.validators()
            )
        except EvidenceError as exc:
            log.info("dropped evidence from %s: %s", kid[:16], exc.code)
            self.link.penalize(kid, "bad_evidence", MINOR, exc.code)
            return
        self.keep(ev, origin=kid)

    def keep(self, ev: DoubleSign, origin: str | None = None) -> None:
        """Keep new evidence, ban the double signer, and pass it on (see module docstring)."""
        if self.pool.add(ev):
            log.warning("double signing by validator %s at height %d", ev.validator[:16], ev.height)
            self.link.penalize(ev.validator, "double_sign", FATAL,
                               f"two {ev.step}s at height {ev.height} round {ev.round}")
            with open(self.path, "ab") as f:
                f.write(ev.encode() + b"\n")
                f.flush()
                os.fsync(f.fileno())
            self.link.broadcast({"t": "evidence", "e": ev.to_json()}, (origin,) if origin else ())
