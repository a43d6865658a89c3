"""Revoking a certificate, committed through the local node, decided by scope
(`ledger_core.attest.revocation`): in scope (the issuer, or an auditor of the issuer's
organisation) it is revoked at once; out of scope an auditor files a suspension, which a majority
of the organisations confirms (revoked) or lifts (active again)."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import UserError
from app.paths import DataDir
from app.services.ledger import open_view, require_cert_ids
from app.services.signing import SignerSource
from app.services.submit import submit
from ledger_core.attest.queries import status_text
from ledger_core.attest.revocation import in_scope

VOTES = {"confirm": "cert.confirm_revocation", "lift": "cert.lift_suspension"}


@dataclass(frozen=True)
class Revoked:
    """What was committed: `action` is "revoked", "suspended", "confirm" or "lift"; `status` the
    certificate's status line after the commit."""

    cert_id: str
    tx_hash: str
    height: int | None
    action: str = "revoked"
    status: str = ""


def _status(dd: DataDir, cert_id: str) -> str:
    with open_view(dd) as view:
        return status_text(view.live.get, view.live.keys, cert_id)


def revoke(dd: DataDir, signer: SignerSource, cert_ref: str, reason: str) -> Revoked:
    """Revoke the certificate that `cert_ref` names (an id or a unique prefix) when it is in the
    signer's scope; otherwise file a suspension (only an auditor may: UserError if not)."""
    with open_view(dd) as view:
        cert_id = require_cert_ids(view, [cert_ref])[0]
    me = signer()  # the passphrase is asked only for a certificate that exists
    with open_view(dd) as view:
        rec = view.live.get("cert", cert_id)
        sender = view.live.get("participant", me.key_id)
    if sender is None:
        raise UserError(f"this identity ({me.key_id[:16]}) is not a participant of the ledger")
    if in_scope(rec, sender):
        done = submit(dd, me, "cert.revoke", {"cert_id": cert_id, "reason": reason})
        action = "revoked"
    elif "auditor" in sender["roles"]:
        done = submit(dd, me, "cert.suspend", {"cert_id": cert_id, "reason": reason})
        action = "suspended"
    else:
        raise UserError(
            f"not_in_scope: certificate {cert_id[:16]} was issued by organisation "
            f"{rec['issuer_org']!r}; only its issuer or that organisation's auditors revoke it, "
            "and only an auditor may file a suspension"
        )
    return Revoked(cert_id, done.hash, done.height, action, _status(dd, cert_id))


def vote(dd: DataDir, signer: SignerSource, cert_ref: str, side: str) -> Revoked:
    """Vote to confirm (`side` "confirm") or lift ("lift") the open suspension of a certificate."""
    if type(side) is not str or side not in VOTES:
        raise UserError(f"a vote is one of {', '.join(VOTES)}")
    with open_view(dd) as view:
        cert_id = require_cert_ids(view, [cert_ref])[0]
        rec = view.live.get("cert", cert_id)
    if rec["status"] != "suspended":
        raise UserError(
            f"not_suspended: certificate {cert_id[:16]} is {rec['status']}, not suspended"
        )
    payload = {"cert_id": cert_id, "suspension": rec["suspension"]["id"]}
    done = submit(dd, signer(), VOTES[side], payload)
    return Revoked(cert_id, done.hash, done.height, side, _status(dd, cert_id))
