"""Rating a participant (key id), an organisation (its id) or a certificate (its id): a signed
`rating.submit` judging a transaction or certificate, committed through the local node."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import UserError
from app.paths import DataDir
from app.services.ledger import LedgerView, open_view
from app.services.signing import SignerSource
from app.services.submit import submit


def subject_kind(view: LedgerView, subject: str) -> str:
    """cert, participant or org: the table that holds `subject`."""
    for kind, table in (("cert", "cert"), ("participant", "participant"), ("org", "org")):
        if view.live.get(table, subject) is not None:
            return kind
    raise UserError(f"{subject!r} is neither a certificate, a participant key id nor an organisation")


@dataclass(frozen=True)
class Rated:
    """A committed rating: its transaction hash and height, and what kind of subject it rated."""

    tx_hash: str
    height: int | None
    subject_kind: str


def rate(
    dd: DataDir, signer: SignerSource, subject: str, score: int, evidence: str,
    comment: str | None = None,
) -> Rated:
    """Rate `subject` 0..100 for the transaction or certificate `evidence` (64 hex digits)."""
    subject = subject.strip()
    with open_view(dd) as view:
        kind = subject_kind(view, subject)
    payload = {"subject_kind": kind, "subject": subject, "judges": evidence,
               "positive": score * 10, "negative": 1000 - score * 10}
    if comment:
        payload["comment"] = comment
    done = submit(dd, signer(), "rating.submit", payload)
    return Rated(done.hash, done.height, kind)
