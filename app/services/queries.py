"""Read-only questions to the local ledger: the trust in a subject (with the ratings behind it)
and the monitoring reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.paths import DataDir
from app.services.ledger import open_view, resolve_cert_id
from ledger_core.attest.effects import reports
from ledger_core.attest.gate import TrustView
from ledger_core.attest.trust import Opinion


@dataclass(frozen=True)
class SubjectTrust:
    """`info`: the JSON answer (subject, kind, height, expected and threshold ppm, opinion,
    passes); `opinion`: the subject's own opinion; `is_cert`: a certificate, whose base rate is
    its issuer's trust."""

    info: dict[str, Any]
    opinion: Opinion
    is_cert: bool


def subject_trust(dd: DataDir, subject: str) -> SubjectTrust:
    """The subjective-logic opinion on a participant, an organisation or a certificate (an id or
    a unique prefix) at the ledger head."""
    with open_view(dd) as view:
        tv = TrustView(view.live.get, view.live.keys, view.live.height)
        cert_id = resolve_cert_id(view, subject)
        out = {"subject": cert_id or subject, "height": view.live.height,
               "threshold_ppm": tv.threshold_ppm}
        if cert_id is not None:
            ct = tv.cert(cert_id)
            op = ct.own
            out.update(kind="cert", expected_ppm=ct.expected_ppm, issuer=ct.issuer,
                       issuer_expected_ppm=ct.issuer_expected_ppm, opinion=op.as_dict())
        else:
            op = tv.opinion(subject)
            out.update(kind="participant" if view.live.get("participant", subject) else "org",
                       expected_ppm=op.expected_ppm, opinion=op.as_dict())
    out["passes"] = out["expected_ppm"] >= out["threshold_ppm"]
    return SubjectTrust(out, op, cert_id is not None)


def monitor_reports(
    dd: DataDir, component: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The monitoring role's reports on the ledger, newest first."""
    with open_view(dd) as view:
        return reports(view.live.get, view.live.keys, component, status, limit)
