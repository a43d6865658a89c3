"""Trust evaluation over the ledger state, and the model trust gate (docs/design.md section 6). Pure.

`TrustView(get, keys, height)` builds a `trust.TrustBook` from the `rating` table: every node
derives exactly the same opinions from the same committed ratings (covered by app_hash) and the
parameters in force. A certificate's base rate is its issuer's expected trust, so a certificate
nobody rated yet is trusted as much as whoever issued it, and ratings of the certificate move it
from there; a trainer whose trust falls drags its unrated models down with it.

`evaluate(get, keys, height, now_ms, cert_id)` is the gate: the model certificate and every
certificate in its lineage exist, are active, within validity, and have expected trust at or
above the threshold in force; optional local digests (weights on disk, a dataset folder) must
match the subjects. The verdict lists every reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger_core.attest import certs
from ledger_core.attest.trust import PPM, Opinion, Rating, TrustBook, TrustParams

Get = Callable[[str, str], Any]
Keys = Callable[[str], Iterable[str]]


def _param(get: Get, name: str) -> int:
    from ledger_core.chain.genesis import PARAMS

    rec = get("param", name)
    return rec["value"] if rec else PARAMS[name][0]


def trust_params(get: Get) -> TrustParams:
    """The trust parameters in force (genesis values, changed by quorum through set_param)."""
    return TrustParams(
        base_rate_ppm=_param(get, "trust_base_rate_permille") * 1000,
        half_life_blocks=_param(get, "trust_half_life_blocks"),
        org_cap_ppm=_param(get, "org_weight_cap_permille") * 1000,
        threshold_ppm=_param(get, "trust_threshold_permille") * 1000,
    )


@dataclass(frozen=True)
class CertTrust:
    cert_id: str
    issuer: str
    issuer_expected_ppm: int
    own: Opinion  # from the certificate's own ratings
    expected_ppm: int  # b + issuer's E * u

    def as_dict(self) -> dict[str, Any]:
        return {
            "cert_id": self.cert_id,
            "issuer": self.issuer,
            "issuer_expected_ppm": self.issuer_expected_ppm,
            "expected_ppm": self.expected_ppm,
            "opinion": self.own.as_dict(),
        }


class TrustView:
    def __init__(self, get: Get, keys: Keys, height: int) -> None:
        self.get = get
        self.params = trust_params(get)
        ratings = []
        for k in sorted(keys("rating")):
            r = get("rating", k)
            ratings.append(Rating(r["rater"], r["rater_org"], r["subject"], r["score"], r["height"], 0, r["judges"]))
        owners = {}
        for r in ratings:
            rec = get("cert", r.subject)
            if rec is not None:
                owners[r.subject] = (rec["issuer"], rec["issuer_org"])
        self.book = TrustBook(ratings, self.params, height, owners)

    @property
    def threshold_ppm(self) -> int:
        return self.params.threshold_ppm

    def opinion(self, subject: str) -> Opinion:
        return self.book.opinion(subject)

    def cert(self, cert_id: str) -> CertTrust:
        rec = self.get("cert", cert_id)
        if rec is None:
            raise KeyError(cert_id)
        issuer_e = self.opinion(rec["issuer"]).expected_ppm
        own = self.opinion(cert_id)
        return CertTrust(cert_id, rec["issuer"], issuer_e, own, own.belief_ppm + issuer_e * own.uncertainty_ppm // PPM)


@dataclass
class Verdict:
    cert_id: str
    passed: bool
    threshold_ppm: int
    reasons: list[str] = field(default_factory=list)
    certs: list[dict[str, Any]] = field(default_factory=list)  # one entry per certificate checked

    def as_dict(self) -> dict[str, Any]:
        return {
            "cert_id": self.cert_id,
            "passed": self.passed,
            "threshold_ppm": self.threshold_ppm,
            "reasons": self.reasons,
            "certs": self.certs,
        }


def evaluate(
    get: Get,
    keys: Keys,
    height: int,
    now_ms: int,
    cert_id: str,
    local_digests: Mapping[str, str] | None = None,
    kind: str | None = "model",
) -> Verdict:
    """The gate's verdict on a certificate (a model by default) at `height`."""
    tv = TrustView(get, keys, height)
    verdict = Verdict(cert_id, True, tv.threshold_ppm)
    local = dict(local_digests or {})

    def fail(reason: str) -> None:
        verdict.passed = False
        verdict.reasons.append(reason)

    root = get("cert", cert_id)
    if root is None:
        fail(f"certificate {cert_id[:16]} is not on the ledger")
        return verdict
    if kind is not None and root["cert"]["kind"] != kind:
        fail(f"certificate {cert_id[:16]} is a {root['cert']['kind']} certificate, not {kind}")
    for cid in certs.lineage_closure(get, cert_id):
        rec = get("cert", cid)
        if rec is None:
            fail(f"lineage certificate {cid[:16]} is not on the ledger")
            continue
        c = rec["cert"]
        label = f"{c['kind']} {c['subject']['name']} {c['subject']['version']} ({cid[:16]})"
        ct = tv.cert(cid)
        entry = {"cert_id": cid, "kind": c["kind"], "status": rec["status"], "trust": ct.as_dict()}
        verdict.certs.append(entry)
        if rec["status"] != "active":
            fail(f"{label} is {rec['status']}: {rec.get('reason', '')}")
        if not certs.in_validity(c, now_ms):
            fail(f"{label} is not within its validity")
        issuer = get("participant", rec["issuer"])
        if issuer is None or issuer["status"] == "revoked":  # rotation keeps a key's certificates
            fail(f"{label}: its issuer's key has been revoked")
        if ct.expected_ppm < tv.threshold_ppm:
            fail(f"{label}: trust {ct.expected_ppm / PPM:.3f} is below the threshold {tv.threshold_ppm / PPM:.3f}")
        if cid in local and local[cid] != c["subject"]["digest"]:
            fail(f"{label}: the local files do not match the certified digest")
    return verdict


def rating_history(store: Any, get: Get) -> list[Rating]:
    """Every committed rating in chain order (later ones replace earlier ones in a TrustBook), read
    from the rating.submit transactions, for trust over time."""
    import json

    out: list[Rating] = []
    after = (0, -1)
    while rows := store.txs_of_type("rating.submit", after):
        for height, idx, raw in rows:
            body = json.loads(raw)["body"]
            p = body["payload"]
            sender = get("participant", body["sender"])
            total = p["positive"] + p["negative"]
            if sender is not None and total > 0:
                out.append(Rating(body["sender"], sender["org"], p["subject"], p["positive"] * 100 // total,
                                  height, idx, p["judges"]))
        after = rows[-1][:2]
    return out


def expected_over_time(ratings: list[Rating], params: TrustParams, subject: str, heights: Iterable[int],
                       owners: Mapping[str, tuple[str, str]] | None = None) -> list[tuple[int, int]]:
    """(height, expected trust ppm) of a subject from the ratings committed up to each height; a
    certificate (in `owners`) takes its issuer's expected trust as base rate, as in TrustView."""
    owners = dict(owners or {})
    out = []
    for h in heights:
        book = TrustBook([r for r in ratings if r.height <= h], params, h, owners)
        op = book.opinion(subject)
        if subject in owners:
            issuer_e = book.opinion(owners[subject][0]).expected_ppm
            out.append((h, op.belief_ppm + issuer_e * op.uncertainty_ppm // PPM))
        else:
            out.append((h, op.expected_ppm))
    return out
