"""Revoking a certificate (by its issuer, or any auditor), committed through the local node."""

from __future__ import annotations

from dataclasses import dataclass

from app.paths import DataDir
from app.services.ledger import require_cert_id
from app.services.signing import SignerSource
from app.services.submit import submit


@dataclass(frozen=True)
class Revoked:
    cert_id: str
    tx_hash: str
    height: int | None


def revoke(dd: DataDir, signer: SignerSource, cert_ref: str, reason: str) -> Revoked:
    """Revoke the certificate that `cert_ref` names (an id or a unique prefix)."""
    cert_id = require_cert_id(dd, cert_ref)
    done = submit(dd, signer(), "cert.revoke", {"cert_id": cert_id, "reason": reason})
    return Revoked(cert_id, done.hash, done.height)
