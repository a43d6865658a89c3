"""State effects of cert.issue, cert.revoke, cert.suspend, cert.confirm_revocation,
cert.lift_suspension, rating.submit, inspection.batch and monitor.report.

`ledger_core.attest.rules` adds them to the chain's membership rules. Every write goes
into the block's state writes, so certificates, ratings, anchored batches and monitoring reports
are covered by `app_hash`. State tables:
- `cert`: certificate id (the cert.issue tx hash) -> record (see certs.py and revocation.py)
- `rating`: "<rater>:<subject>" -> the rater's latest rating of that subject (replaces earlier)
- `batch`: inspection.batch tx hash -> the anchored Merkle root and its facts
- `report`: monitor.report tx hash -> the report, with sender and height (read by auditors)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger_core.attest import certs, revocation
from ledger_core.chain.tx import TxError

if TYPE_CHECKING:
    from ledger_core.chain.state_view import TxContext


def _cert_issue(ctx: TxContext) -> None:
    cert = ctx.tx.payload["cert"]
    rec = certs.issue(ctx.view.get, ctx.tx.hash, cert, ctx.sender, ctx.height, ctx.time_ms)
    ctx.view.put("cert", ctx.tx.hash, rec)


def _cert_revoke(ctx: TxContext) -> None:
    p = ctx.tx.payload
    rec = revocation.revoke(ctx.view.get, p["cert_id"], ctx.sender, ctx.height, p["reason"])
    ctx.view.put("cert", p["cert_id"], rec)


def _cert_suspend(ctx: TxContext) -> None:
    p, v = ctx.tx.payload, ctx.view
    rec = revocation.suspend(
        v.get, v.keys, p["cert_id"], ctx.sender, ctx.height, p["reason"], ctx.tx.hash
    )
    v.put("cert", p["cert_id"], rec)


def _vote(side: str):
    def effect(ctx: TxContext) -> None:
        p, v = ctx.tx.payload, ctx.view
        rec = revocation.vote(
            v.get, v.keys, p["cert_id"], p["suspension"], ctx.sender, ctx.height, side
        )
        v.put("cert", p["cert_id"], rec)

    return effect


def rating_key(rater: str, subject: str) -> str:
    return f"{rater}:{subject}"


def _rating(ctx: TxContext) -> None:
    p = ctx.tx.payload
    kind, subject = p["subject_kind"], p["subject"]
    if (kind == "participant" and subject == ctx.tx.sender) or (kind == "org" and subject == ctx.sender["org"]):
        raise TxError("self_rating", "no self-ratings: a participant rates neither itself nor its organisation")
    table = {"participant": "participant", "org": "org", "cert": "cert"}[kind]
    target = ctx.view.get(table, subject)
    if target is None:
        raise TxError("unknown_subject", f"no {kind} {subject[:16]} to rate")
    if kind == "cert" and target["issuer"] == ctx.tx.sender:
        raise TxError("self_rating", "no self-ratings: an issuer does not rate its own certificate")
    total = p["positive"] + p["negative"]
    if total == 0:
        raise TxError("bad_payload", "rating.submit: positive + negative must be above 0")
    ctx.view.put(
        "rating",
        rating_key(ctx.tx.sender, subject),
        {
            "rater": ctx.tx.sender,
            "rater_org": ctx.sender["org"],
            "subject_kind": kind,
            "subject": subject,
            "score": p["positive"] * 100 // total,
            "judges": p["judges"],
            "comment": p.get("comment"),
            "height": ctx.height,
            "tx": ctx.tx.hash,
        },
    )


def _batch(ctx: TxContext) -> None:
    p = ctx.tx.payload
    for field in ("model_cert", "pipeline_cert"):
        if p[field] is not None and ctx.view.get("cert", p[field]) is None:
            raise TxError("unknown_cert", f"inspection.batch: {field} {p[field][:16]} does not exist")
    ctx.view.put("batch", ctx.tx.hash, {**p, "sender": ctx.tx.sender, "height": ctx.height})


def _report(ctx: TxContext) -> None:
    p = ctx.tx.payload
    if p["about"] is not None and ctx.view.get("cert", p["about"]) is None:
        raise TxError("unknown_cert", f"monitor.report: certificate {p['about'][:16]} does not exist")
    ctx.view.put(
        "report", ctx.tx.hash, {**p, "sender": ctx.tx.sender, "org": ctx.sender["org"], "height": ctx.height}
    )


ATTESTATION_TABLES = ("cert", "rating", "batch", "report")
ATTESTATION_EFFECTS = {
    "cert.issue": _cert_issue,
    "cert.revoke": _cert_revoke,
    "cert.suspend": _cert_suspend,
    "cert.confirm_revocation": _vote("confirm"),
    "cert.lift_suspension": _vote("lift"),
    "rating.submit": _rating,
    "inspection.batch": _batch,
    "monitor.report": _report,
}


def reports(get, keys, component: str | None = None, status: str | None = None, limit: int = 100) -> list[dict]:
    """Monitoring reports for auditors, newest first, optionally by component and status."""
    out = []
    for k in keys("report"):
        r = get("report", k)
        if (component is None or r["component"] == component) and (status is None or r["status"] == status):
            out.append({**r, "tx": k})
    out.sort(key=lambda r: (r["height"], r["tx"]), reverse=True)
    return out[:limit]
