"""Which model a station may run (docs/design.md section 6), decided from a ledger state and the
digests of the files the station holds. Pure: the station hashes its files and reads the ledger.

`ModelChoice.decide(...)` judges the preferred model with `gate.evaluate` (its weights and the
other certified artifacts kept at the station against the certificates' subject digests) and,
when it fails, falls back to the newest model that passed before and still passes, or to none:
the station then stops inspecting. `GateStatus` is what the badge and `bcmlp gate` show.
`StationChoice` is the gate of a station attached to a ledger, which knows its weights only: the
model certificate is found by the weights' digest with `eligible_certificates`, the rule below,
which an outsider who certifies the same public digest cannot steer.

The choice rule (for docs/design.md):
1. A station accepts model certificates from its accepted issuers only (`Acceptance`): a pinned
   certificate id (then that certificate and no other), or a configured list of issuing
   organisations, or, with neither, the organisation that issued the certificate the station
   used before (sticky: once a station has admitted a model, later certificates from any other
   organisation are ignored).
2. Among the active certificates of kind `model` whose subject digest is the digest of the bytes
   the station holds, from accepted issuers, within validity at the block time: the earliest
   issued first (by height, then certificate id), so a certificate issued later, by anyone,
   never displaces one the station can already use.
3. The station uses the first certificate of that order that passes the trust gate; if none
   passes, the model is refused with the reasons of the first (and inspection stops).
A station with no history and no configuration accepts any issuer for its first choice, which is
then the earliest issued: whoever certified these bytes first. Configuring `--accept-org` or
`--pin-cert` (or `station.json`) removes even that first-choice exposure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger_core.attest.certs import in_validity
from ledger_core.attest.gate import Get, Keys, Verdict, evaluate

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


@dataclass(frozen=True)
class Acceptance:
    """What a station accepts: a pinned model certificate id, or issuing organisations (empty
    and no pin: the issuer organisation of the certificate used before; see the module rule)."""

    pinned: str | None = None
    orgs: frozenset[str] = frozenset()

    @classmethod
    def of(cls, pinned: str | None = None, orgs: Iterable[str] = ()) -> Acceptance:
        return cls(pinned or None, frozenset(o for o in orgs if o))

    def describe(self, sticky_org: str | None = None) -> str:
        if self.pinned:
            return f"pinned certificate {self.pinned[:16]}"
        if self.orgs:
            return "issuers of " + ", ".join(sorted(self.orgs))
        if sticky_org:
            return f"issuers of {sticky_org} (the issuer of the certificate used before)"
        return "any issuer (first choice: the earliest issued)"


def eligible_certificates(
    get: Get, keys: Keys, digest: str, now_ms: int, accept: Acceptance,
    sticky_org: str | None = None,
) -> tuple[list[str], int]:
    """(the certificate ids the station may use for the weights `digest`, in the order it tries
    them; how many matching certificates were left out for their issuer): the module's rule.
    A pinned certificate is returned as is, whatever its digest or state: the gate judges it."""
    if accept.pinned:
        return [accept.pinned], 0
    orgs = accept.orgs or (frozenset({sticky_org}) if sticky_org else None)
    hits: list[tuple[int, str]] = []
    ignored = 0
    for cid in keys("cert"):
        rec = get("cert", cid)
        cert = rec["cert"]
        if (cert["kind"] != "model" or cert["subject"]["digest"] != digest
                or rec["status"] != "active" or not in_validity(cert, now_ms)):
            continue
        if orgs is not None and rec.get("issuer_org") not in orgs:
            ignored += 1
            continue
        hits.append((rec["height"], cid))
    return [cid for _h, cid in sorted(hits)], ignored


@dataclass
class StationChoice:
    """The gate of a station that knows its weights (and their digest) but not their certificate:
    the certificate is chosen by `eligible_certificates`; without one that passes the gate the
    model is refused. `digest` is that of the bytes the station holds (it changes when they do)."""

    weights: Path
    digest: str
    accept: Acceptance = field(default_factory=Acceptance)
    sticky_org: str | None = None  # the issuer organisation of the certificate used before
    active: str | None = None

    def decide(
        self, get: Get, keys: Keys, height: int, now_ms: int, digests: Digests | None = None
    ) -> dict[str, Any]:
        """The status (as `GateStatus.as_dict()`, with the digest judged) at this ledger state.
        `digests` defaults to the station's own digest for its weights."""
        before = self.active
        digests = {self.weights: self.digest} if digests is None else digests
        order, ignored = eligible_certificates(get, keys, self.digest, now_ms, self.accept,
                                               self.sticky_org)
        if not order:
            self.active = None
            reason = (f"no active model certificate on the ledger for {self.weights.name} "
                      f"(digest {self.digest[:12]})")
            if ignored:
                reason += (f" from an accepted issuer ({self.accept.describe(self.sticky_org)}); "
                           f"{ignored} from other issuers ignored")
            return {"height": height, "active": None, "verdict": {"reasons": [reason]},
                    "message": reason, "changed": before is not None, "digest": self.digest}
        first: Verdict | None = None
        chosen: Verdict | None = None
        for cid in order:
            v = judge(get, keys, height, now_ms, Candidate(cid, self.weights), digests)
            first = first or v
            if v.passed:
                chosen = v
                break
        if chosen is not None:
            self.active = chosen.cert_id
            if not self.accept.pinned and not self.accept.orgs and self.sticky_org is None:
                self.sticky_org = get("cert", chosen.cert_id).get("issuer_org")
            msg = f"model {chosen.cert_id[:16]} passes the trust gate"
        else:
            self.active = None
            msg = f"model {first.cert_id[:16]} refused: {'; '.join(first.reasons)}; inspection stopped"
        v = chosen or first
        active = None if self.active is None else {"cert_id": self.active, "weights": str(self.weights)}
        return {"height": height, "active": active, "verdict": v.as_dict(), "message": msg,
                "changed": self.active != before, "digest": self.digest}
