"""Revoking certificates so that no single party can abuse it: scope, suspension and a quorum.

Pure rules over the state reads `get(table, key)` and `keys(table)`; `effects.py` writes what
they return, so every node computes the same record (it is covered by app_hash).

- In scope, at once: a certificate is revoked (`cert.revoke`) by its issuer, or by an auditor of
  the issuer's organisation. Anyone else gets `not_in_scope`.
- Out of scope, reversible: an auditor of any organisation files a suspension (`cert.suspend`,
  with a reason). The certificate is then `suspended`: not usable (the gate, lineage and
  queries treat every status but `active` as unusable), but not revoked.
- The electorate of a certificate: the active organisations that hold the auditor role, plus
  the issuer's organisation. Each votes once per suspension, by any of its auditors (the issuer's
  organisation also by the issuer's key): the filing counts as its organisation's vote to
  confirm; `cert.confirm_revocation` and `cert.lift_suspension` add one. Votes are counted
  against the electorate of the moment (as member.approve counts against the current
  validators). A majority of the electorate, n // 2 + 1, confirming revokes the certificate; a
  majority lifting makes it active again. Confirming and lifting cannot both reach a majority.
- The filing organisation may withdraw its own suspension at once (`cert.lift_suspension` by one
  of its auditors). An organisation whose suspension was lifted or withdrawn cannot suspend that
  certificate again (`suspension_lifted`): others may.
- An in-scope `cert.revoke` of a suspended certificate revokes it (the issuer agrees).

Certificate record fields this adds (see certs.py): `status` "suspended" with `suspended_height`,
`suspended_by`, `reason` and `suspension` {id, by, org, height, reason, confirm, lift}; after it is
closed, `last_suspension` (the same plus `outcome` and `closed_height`) and `lifted_by` (the
organisations whose suspensions were lifted or withdrawn).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ledger_core.chain.tx import TxError

Get = Callable[[str, str], Any]
Keys = Callable[[str], Iterable[str]]

USABLE = "active"  # the one status under which a certificate may be used
_SUSPENSION_FIELDS = ("suspended_height", "suspended_by", "reason", "suspension")


def majority(n: int) -> int:
    """Votes needed among n organisations: a strict majority."""
    return n // 2 + 1


def in_scope(rec: dict[str, Any], sender: dict[str, Any]) -> bool:
    """The sender may revoke at once: it issued the certificate, or it is an auditor of the
    issuer's organisation."""
    return sender["key_id"] == rec["issuer"] or (
        "auditor" in sender["roles"] and sender["org"] == rec["issuer_org"]
    )


def electorate(get: Get, keys: Keys, rec: dict[str, Any]) -> set[str]:
    """The organisations that vote on a suspension of this certificate."""
    out = {rec["issuer_org"]}
    for oid in keys("org"):
        org = get("org", oid)
        if org is not None and org["status"] == "active" and "auditor" in org["roles"]:
            out.add(oid)
    return out


def _record(get: Get, cert_id: str) -> dict[str, Any]:
    rec = get("cert", cert_id)
    if rec is None:
        raise TxError("unknown_cert", f"no certificate {cert_id[:16]}")
    return rec


def _closed(rec: dict[str, Any], outcome: str, height: int) -> dict[str, Any]:
    """The record without its open suspension, which is kept as `last_suspension`."""
    out = {k: v for k, v in rec.items() if k not in _SUSPENSION_FIELDS}
    out["last_suspension"] = {**rec["suspension"], "outcome": outcome, "closed_height": height}
    return out


def _revoked(rec: dict[str, Any], by: str, height: int, reason: str) -> dict[str, Any]:
    return {
        **rec,
        "status": "revoked",
        "revoked_height": height,
        "revoked_by": by,
        "reason": reason,
    }


def _lifted(rec: dict[str, Any], outcome: str, height: int) -> dict[str, Any]:
    out = _closed(rec, outcome, height)
    out["lifted_by"] = sorted(set(rec.get("lifted_by", ())) | {rec["suspension"]["org"]})
    out["status"] = USABLE
    return out


def revoke(
    get: Get, cert_id: str, sender: dict[str, Any], height: int, reason: str
) -> dict[str, Any]:
    """A cert.revoke: only in scope (the issuer, or an auditor of its organisation)."""
    rec = _record(get, cert_id)
    if rec["status"] == "revoked":
        raise TxError("already_revoked", f"certificate {cert_id[:16]} is already revoked")
    if not in_scope(rec, sender):
        raise TxError(
            "not_in_scope",
            "a certificate is revoked by its issuer or an auditor of the issuer's organisation; "
            "others file a suspension (cert.suspend)",
        )
    if rec["status"] == "suspended":
        rec = _closed(rec, "revoked_in_scope", height)
    return _revoked(rec, sender["key_id"], height, reason)


def suspend(
    get: Get,
    keys: Keys,
    cert_id: str,
    sender: dict[str, Any],
    height: int,
    reason: str,
    suspension_id: str,
) -> dict[str, Any]:
    """A cert.suspend by an auditor (the tx type admits only auditors): the certificate is
    suspended, the filing organisation's vote to confirm counted."""
    rec = _record(get, cert_id)
    if rec["status"] == "revoked":
        raise TxError("already_revoked", f"certificate {cert_id[:16]} is already revoked")
    if rec["status"] == "suspended":
        raise TxError("already_suspended", f"certificate {cert_id[:16]} is already suspended")
    if sender["org"] in rec.get("lifted_by", ()):
        raise TxError(
            "suspension_lifted",
            f"a suspension of certificate {cert_id[:16]} by {sender['org']!r} was lifted before",
        )
    rec = {
        **rec,
        "status": "suspended",
        "suspended_height": height,
        "suspended_by": sender["key_id"],
        "reason": reason,
        "suspension": {
            "id": suspension_id,
            "by": sender["key_id"],
            "org": sender["org"],
            "height": height,
            "reason": reason,
            "confirm": [sender["org"]],
            "lift": [],
        },
    }
    return _tally(get, keys, rec, height)


def vote(
    get: Get,
    keys: Keys,
    cert_id: str,
    suspension_id: str,
    sender: dict[str, Any],
    height: int,
    side: str,
) -> dict[str, Any]:
    """A cert.confirm_revocation (`side` "confirm") or cert.lift_suspension ("lift")."""
    rec = _record(get, cert_id)
    if rec["status"] != "suspended":
        raise TxError(
            "not_suspended", f"certificate {cert_id[:16]} is {rec['status']}, not suspended"
        )
    susp = rec["suspension"]
    if susp["id"] != suspension_id:
        raise TxError(
            "stale_suspension", f"certificate {cert_id[:16]} is under suspension {susp['id'][:16]}"
        )
    if "auditor" not in sender["roles"] and sender["key_id"] != rec["issuer"]:
        raise TxError(
            "not_a_voter", "suspensions are voted on by auditors and by the certificate's issuer"
        )
    org = sender["org"]
    if side == "lift" and org == susp["org"] and "auditor" in sender["roles"]:
        return _lifted(rec, "withdrawn", height)  # the filing organisation withdraws
    if org in susp["confirm"] or org in susp["lift"]:
        raise TxError("already_voted", f"organisation {org!r} already voted on this suspension")
    susp = {**susp, side: sorted(set(susp[side]) | {org})}
    return _tally(get, keys, {**rec, "suspension": susp}, height)


def _tally(get: Get, keys: Keys, rec: dict[str, Any], height: int) -> dict[str, Any]:
    voters = electorate(get, keys, rec)
    need = majority(len(voters))
    susp = rec["suspension"]
    if len(set(susp["confirm"]) & voters) >= need:
        return _revoked(_closed(rec, "confirmed", height), susp["by"], height, susp["reason"])
    if len(set(susp["lift"]) & voters) >= need:
        return _lifted(rec, "lifted", height)
    return rec


def standing(get: Get, keys: Keys, rec: dict[str, Any]) -> dict[str, Any] | None:
    """An open suspension's votes against the electorate of now (None when not suspended)."""
    if rec["status"] != "suspended":
        return None
    voters = electorate(get, keys, rec)
    susp = rec["suspension"]
    return {
        **susp,
        "electorate": sorted(voters),
        "needed": majority(len(voters)),
        "confirmed": len(set(susp["confirm"]) & voters),
        "lifted": len(set(susp["lift"]) & voters),
    }
