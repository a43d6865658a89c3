"""Which model a station may run (docs/design.md section 6), decided from a ledger state and the
digests of the files the station holds. Pure: the station hashes its files and reads the ledger.

`ModelChoice.decide(...)` judges the preferred model with `gate.evaluate` (its weights and the
other certified artifacts kept at the station against the certificates' subject digests) and,
when it fails, falls back to the newest model that passed before and still passes, or to none:
the station then stops inspecting. `GateStatus` is what the badge and `bcmlp gate` show.
`StationChoice` is the gate of a station attached to a ledger, which knows its weights only: the
model certificate is the newest active `model` certificate whose subject digest is theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger_core.attest.gate import Get, Keys, Verdict, evaluate
from ledger_core.attest.queries import newest_with_digest

# the manifest digest of each file or folder a candidate names (None: it cannot be read); a
# mapping may compute its values on demand (a dict's __missing__), so only what is judged is read
Digests = Mapping[Path, str | None]


@dataclass(frozen=True)
class Candidate:
    cert_id: str
    weights: Path
    # other certified artifacts kept at the station, re-hashed too: (certificate id, file or folder)
    local: tuple[tuple[str, Path], ...] = ()


@dataclass
class GateStatus:
    height: int
    active: Candidate | None
    verdict: Verdict | None  # of the preferred model
    message: str
    changed: bool  # the model in service differs from the previous status

    def as_dict(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "active": None if self.active is None else {"cert_id": self.active.cert_id,
                                                        "weights": str(self.active.weights)},
            "verdict": None if self.verdict is None else self.verdict.as_dict(),
            "message": self.message,
            "changed": self.changed,
        }


def judge(
    get: Get, keys: Keys, height: int, now_ms: int, c: Candidate, digests: Digests
) -> Verdict:
    """The gate's verdict on one candidate with the digests of its files."""
    digest = digests[c.weights]
    local = {cid: digests[p] or "missing" for cid, p in c.local}
    v = evaluate(get, keys, height, now_ms, c.cert_id, {**local, c.cert_id: digest or "missing"})
    if digest is None:
        v.reasons.insert(0, f"the weights {c.weights} cannot be read")
    return v


@dataclass
class ModelChoice:
    """The model in service, judged again at every ledger state `decide` is given."""

    preferred: Candidate
    passed_before: list[Candidate] = field(default_factory=list)  # oldest first
    active: Candidate | None = None

    def prefer(self, c: Candidate) -> None:
        """A new model is proposed for the station (it runs once the gate passes)."""
        self.preferred = c

    def decide(
        self, get: Get, keys: Keys, height: int, now_ms: int, digests: Digests
    ) -> GateStatus:
        before = self.active
        v = judge(get, keys, height, now_ms, self.preferred, digests)
        if v.passed:
            self.active = self.preferred
            if self.preferred not in self.passed_before:
                self.passed_before.append(self.preferred)
            msg = f"model {self.preferred.cert_id[:16]} passes the trust gate"
        else:
            self.active = None
            why = "; ".join(v.reasons)
            for c in reversed(self.passed_before):
                if c != self.preferred and judge(get, keys, height, now_ms, c, digests).passed:
                    self.active = c
                    break
            then = (f"falling back to model {self.active.cert_id[:16]}" if self.active
                    else "inspection stopped")
            msg = f"model {self.preferred.cert_id[:16]} refused: {why}; {then}"
        return GateStatus(height, self.active, v, msg, self.active != before)


@dataclass
class StationChoice:
    """The gate of a station that knows its weights (and their digest) but not their certificate:
    without an active model certificate for that digest on the ledger the model is refused."""

    weights: Path
    digest: str
    choice: ModelChoice | None = None

    def certificate(self, get: Get, keys: Keys) -> str | None:
        return newest_with_digest(get, keys, self.digest, kind="model", active_only=True)

    def decide(
        self, get: Get, keys: Keys, height: int, now_ms: int, digests: Digests
    ) -> dict[str, Any]:
        """The status (as `GateStatus.as_dict()`) at this ledger state."""
        cert_id = self.certificate(get, keys)
        if cert_id is None:
            self.choice = None
            reason = (f"no active model certificate on the ledger for {self.weights.name} "
                      f"(digest {self.digest[:12]})")
            return {"height": height, "active": None, "verdict": {"reasons": [reason]},
                    "message": reason, "changed": True}
        if self.choice is None or self.choice.preferred.cert_id != cert_id:
            self.choice = ModelChoice(Candidate(cert_id, self.weights))
        return self.choice.decide(get, keys, height, now_ms, digests).as_dict()
