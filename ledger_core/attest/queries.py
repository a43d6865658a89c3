"""Typed reads of the attestation tables, so no caller walks the raw state layout itself.

`get(table, key)` and `keys(table)` are the reads of any ledger state view (the live state, a
snapshot, a `View`).
"""

from __future__ import annotations

from typing import Any

from ledger_core.attest.certs import in_validity
from ledger_core.attest.gate import Get, Keys
from ledger_core.attest.revocation import USABLE, standing


def certificates_with_digest(
    get: Get, keys: Keys, digest: str, *, kind: str | None = None, active_only: bool = False
) -> list[str]:
    """Ids of the certificates whose subject digest is `digest`, newest first (by height, then
    id), optionally of one kind and only active ones."""
    hits = []
    for cid in keys("cert"):
        rec = get("cert", cid)
        cert = rec["cert"]
        if cert["subject"]["digest"] != digest:
            continue
        if (kind is not None and cert["kind"] != kind) or (active_only and rec["status"] != USABLE):
            continue
        hits.append((rec["height"], cid))
    return [cid for _h, cid in sorted(hits, reverse=True)]


def certificate_for(get: Get, keys: Keys, digest: str, now_ms: int) -> str | None:
    """The certificate a verifier checks for these bytes: the earliest-issued usable one (active
    and within validity at `now_ms`), so that a later certificate of the same public digest,
    from anyone, cannot displace it (the station's rule, `model_choice`); when none is usable,
    the newest of any status, whose failure is then what is reported; None when there is none."""
    hits = certificates_with_digest(get, keys, digest)
    recs = [get("cert", cid) for cid in hits]
    usable = [cid for cid, rec in zip(hits, recs, strict=True)
              if rec["status"] == USABLE and in_validity(rec["cert"], now_ms)]
    if usable:
        return usable[-1]
    return hits[0] if hits else None


def newest_with_digest(
    get: Get, keys: Keys, digest: str, *, kind: str | None = None, active_only: bool = False
) -> str | None:
    """The newest certificate of `certificates_with_digest`, or None."""
    hits = certificates_with_digest(get, keys, digest, kind=kind, active_only=active_only)
    return hits[0] if hits else None


def cert_status(get: Get, keys: Keys, cert_id: str) -> dict[str, Any] | None:
    """A certificate's status for display: `status` (active, suspended, revoked), `usable` (only
    when active), `reason`, and for a suspension its votes against the electorate of now."""
    rec = get("cert", cert_id)
    if rec is None:
        return None
    return {
        "status": rec["status"],
        "usable": rec["status"] == USABLE,
        "reason": rec.get("reason"),
        "suspension": standing(get, keys, rec),
    }


def status_text(get: Get, keys: Keys, cert_id: str) -> str:
    """One line: "active", "revoked: <reason>", or "suspended by <org>: <reason> (confirm 1/2
    of 3, lift 0/2)"."""
    st = cert_status(get, keys, cert_id)
    if st is None:
        return "not on the ledger"
    sp = st["suspension"]
    if sp is not None:
        n, need = len(sp["electorate"]), sp["needed"]
        return (f"suspended by {sp['org']}: {sp['reason']} (confirm {sp['confirmed']}/{need}, "
                f"lift {sp['lifted']}/{need} of {n} organisations)")
    return st["status"] if st["reason"] is None else f"{st['status']}: {st['reason']}"
