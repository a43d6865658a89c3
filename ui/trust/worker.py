"""The Trust page's work off the GUI thread: the subjects with their opinions and the rating
history from a fresh ledger snapshot (`load_trust`, run by the page's head follower), and signing
and submitting a rating (`submit_rating`, run on the page's task)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger_core.attest.gate import TrustView, rating_history
from ledger_core.attest.trust import Rating

# (rating.submit payload, passphrase) -> (tx hash, height); raises with a message when refused
Submit = Callable[[dict[str, Any], str], tuple[str, Any]]
KINDS = ("participant", "org", "cert")


@dataclass(frozen=True)
class TrustLoad:
    live: Any
    trust: TrustView
    subjects: list[dict[str, Any]]  # kind, id, label, op (Opinion), e (expected ppm), owner for certificates
    ratings: list[Rating]  # every committed rating up to `height`, in chain order
    height: int


def trust_subjects(live: Any, tv: TrustView) -> list[dict[str, Any]]:
    """Participants (no nodes), organisations and certificates, each with its opinion."""
    subjects = []
    for k in live.keys("participant"):
        p = live.get("participant", k)
        if p["kind"] != "node":
            op = tv.opinion(k)
            subjects.append({"kind": "participant", "id": k, "label": f"{p['name']} ({p['org']})", "op": op,
                             "e": op.expected_ppm})
    for k in live.keys("org"):
        op = tv.opinion(k)
        subjects.append({"kind": "org", "id": k, "label": live.get("org", k)["name"], "op": op,
                         "e": op.expected_ppm})
    for k in live.keys("cert"):
        c = live.get("cert", k)
        ct = tv.cert(k)
        subjects.append({"kind": "cert", "id": k, "op": ct.own, "e": ct.expected_ppm,
                         "issuer_e": ct.issuer_expected_ppm, "owner": (c["issuer"], c["issuer_org"]),
                         "label": f"{c['cert']['kind']} {c['cert']['subject']['name']} {k[:8]}"})
    subjects.sort(key=lambda s: (KINDS.index(s["kind"]), s["label"], s["id"]))
    return subjects


def load_trust(opener: Callable[[], tuple[Any, Any, Any]]) -> TrustLoad:
    store, _genesis, live = opener()
    tv = TrustView(live.get, live.keys, live.height)
    ratings = [r for r in rating_history(store, live.get) if r.height <= live.height]
    return TrustLoad(live, tv, trust_subjects(live, tv), ratings, live.height)



def submit_rating(submit: Submit, payload: dict[str, Any], passphrase: str) -> str:
    """Sign and submit; the line the page shows once the rating is committed."""
    tx_hash, height = submit(payload, passphrase)
    return f"committed at height {height}: {tx_hash[:16]}"
