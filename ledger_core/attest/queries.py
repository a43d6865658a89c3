"""Typed reads of the attestation tables, so no caller walks the raw state layout itself.

`get(table, key)` and `keys(table)` are the reads of any ledger state view (the live state, a
snapshot, a `View`).
"""

from __future__ import annotations

from ledger_core.attest.gate import Get, Keys


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
        if (kind is not None and cert["kind"] != kind) or (active_only and rec["status"] != "active"):
            continue
        hits.append((rec["height"], cid))
    return [cid for _h, cid in sorted(hits, reverse=True)]


def newest_with_digest(
    get: Get, keys: Keys, digest: str, *, kind: str | None = None, active_only: bool = False
) -> str | None:
    """The newest certificate of `certificates_with_digest`, or None."""
    hits = certificates_with_digest(get, keys, digest, kind=kind, active_only=active_only)
    return hits[0] if hits else None
