"""Revocation that one party cannot abuse (issue 14, finding 3): in scope at once, out of scope a
reversible suspension that a majority of the organisations confirms or lifts.

The consortium of `cert_world`: plant (operator), lab (trainer), qa1/qa2/qa3 (auditors). The
electorate of the lab's model certificate is {lab, qa1, qa2, qa3}: a majority is 3.
"""

from __future__ import annotations

import pytest

from ledger_core.attest import revocation
from ledger_core.attest.queries import cert_status, newest_with_digest, status_text
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain import tx as txm
from tests.support.cert_world import certify_all, model_predicate, trust_everyone, world


@pytest.fixture
def wi(tmp_path):
    w = world(tmp_path)
    ids = certify_all(w)
    trust_everyone(w)
    assert w.gate(ids["model"]).passed
    return w, ids


def suspend(w, who, cert_id, reason="drift"):
    tx, code = w.submit(who, "cert.suspend", {"cert_id": cert_id, "reason": reason})
    assert code is None, code
    return tx.hash


def vote(w, who, kind, cert_id, suspension):
    return w.submit(who, kind, {"cert_id": cert_id, "suspension": suspension})[1]


def status(w, cert_id):
    return w.get("cert", cert_id)["status"]


def test_an_auditor_of_another_org_cannot_revoke_it_only_suspends_and_a_quorum_confirms(wi):
    w, ids = wi
    md = ids["model"]
    # the attack of the old rule: one auditor key of qa2 revokes the lab's model for good
    assert w.submit("aud2", "cert.revoke", {"cert_id": md, "reason": "drift"})[1] == "not_in_scope"
    assert status(w, md) == "active" and w.gate(md).passed
    sid = suspend(w, "aud2", md, "accuracy drift on line 3")
    assert status(w, md) == "suspended"
    v = w.gate(md)
    assert not v.passed  # suspended: not usable
    assert newest_with_digest(w.get, w.tkeys, "c" * 64, active_only=True) is None
    st = cert_status(w.get, w.tkeys, md)
    assert (
        st["usable"] is False
        and st["suspension"]["confirmed"] == 1
        and st["suspension"]["needed"] == 3
    )
    assert st["suspension"]["electorate"] == ["lab", "qa1", "qa2", "qa3"]
    assert status_text(w.get, w.tkeys, md) == (
        "suspended by qa2: accuracy drift on line 3 (confirm 1/3, lift 0/3 of 4 organisations)"
    )
    assert vote(w, "aud3", "cert.confirm_revocation", md, sid) is None
    assert status(w, md) == "suspended"  # 2 of 4: no majority yet
    assert vote(w, "aud1", "cert.confirm_revocation", md, sid) is None
    rec = w.get("cert", md)
    assert rec["status"] == "revoked" and rec["reason"] == "accuracy drift on line 3"
    assert (
        rec["revoked_by"] == w.keys["aud2"].key_id and rec["revoked_height"] == w.chain.state.height
    )
    assert rec["last_suspension"]["outcome"] == "confirmed" and "suspension" not in rec
    assert rec["last_suspension"]["confirm"] == ["qa1", "qa2", "qa3"]
    assert not w.gate(md).passed
    assert status_text(w.get, w.tkeys, md) == "revoked: accuracy drift on line 3"


def test_a_quorum_lifts_a_suspension_and_the_certificate_is_usable_again(wi):
    w, ids = wi
    md = ids["model"]
    sid = suspend(w, "aud2", md)
    assert (
        vote(w, "trainer", "cert.lift_suspension", md, sid) is None
    )  # the issuer votes for its org
    assert vote(w, "aud3", "cert.lift_suspension", md, sid) is None
    assert status(w, md) == "suspended"
    assert vote(w, "aud1", "cert.lift_suspension", md, sid) is None
    rec = w.get("cert", md)
    assert rec["status"] == "active" and "reason" not in rec and "suspended_by" not in rec
    assert rec["last_suspension"]["outcome"] == "lifted" and rec["lifted_by"] == ["qa2"]
    assert w.gate(md).passed
    # qa2 cannot harass with the same suspension again; another organisation can file one
    tx, code = w.submit("aud2", "cert.suspend", {"cert_id": md, "reason": "again"})
    assert code == "suspension_lifted"
    assert w.submit("aud3", "cert.suspend", {"cert_id": md, "reason": "new evidence"})[1] is None


def test_the_filer_may_withdraw_and_in_scope_revocation_closes_a_suspension(wi):
    w, ids = wi
    md, lb = ids["model"], ids["labels"]
    sid = suspend(w, "aud2", md)
    assert vote(w, "aud2", "cert.lift_suspension", md, sid) is None  # withdrawn at once
    rec = w.get("cert", md)
    assert rec["status"] == "active" and rec["last_suspension"]["outcome"] == "withdrawn"
    # suspended, then the issuer agrees and revokes in its own scope
    sid = suspend(w, "aud3", md)
    assert w.submit("trainer", "cert.revoke", {"cert_id": md, "reason": "we agree"})[1] is None
    rec = w.get("cert", md)
    assert rec["status"] == "revoked" and rec["last_suspension"]["outcome"] == "revoked_in_scope"
    assert rec["revoked_by"] == w.keys["trainer"].key_id
    # an auditor of the issuer's organisation revokes that organisation's certificates at once
    assert w.submit("aud1b", "cert.revoke", {"cert_id": lb, "reason": "wrong classes"})[1] is None
    assert status(w, lb) == "revoked"


def test_each_refusal_has_its_reason_code(wi):
    w, ids = wi
    md, ds = ids["model"], ids["dataset"]
    assert (
        w.submit("trainer", "cert.suspend", {"cert_id": ds, "reason": "x"})[1] == "role_not_allowed"
    )
    assert (
        w.submit("aud2", "cert.suspend", {"cert_id": "f" * 64, "reason": "x"})[1] == "unknown_cert"
    )
    assert vote(w, "aud3", "cert.confirm_revocation", md, "0" * 64) == "not_suspended"
    assert vote(w, "aud3", "cert.lift_suspension", md, "0" * 64) == "not_suspended"
    sid = suspend(w, "aud2", md)
    assert (
        w.submit("aud3", "cert.suspend", {"cert_id": md, "reason": "x"})[1] == "already_suspended"
    )
    assert vote(w, "aud3", "cert.confirm_revocation", md, "0" * 64) == "stale_suspension"
    assert (
        vote(w, "aud2", "cert.confirm_revocation", md, sid) == "already_voted"
    )  # filing was qa2's vote
    assert vote(w, "aud3", "cert.confirm_revocation", md, sid) is None
    assert vote(w, "aud3", "cert.lift_suspension", md, sid) == "already_voted"
    # another key of the same organisation: still one vote per organisation
    assert vote(w, "aud1", "cert.lift_suspension", md, sid) is None
    assert vote(w, "aud1b", "cert.confirm_revocation", md, sid) == "already_voted"
    # the plant's operator is neither an auditor nor the issuer
    assert vote(w, "op", "cert.confirm_revocation", md, sid) == "not_a_voter"
    assert w.submit("trainer2", "cert.revoke", {"cert_id": md, "reason": "x"})[1] == "not_in_scope"
    assert w.submit("trainer", "cert.revoke", {"cert_id": md, "reason": "x"})[1] is None
    assert w.submit("aud2", "cert.suspend", {"cert_id": md, "reason": "x"})[1] == "already_revoked"
    assert (
        w.submit("trainer", "cert.revoke", {"cert_id": md, "reason": "x"})[1] == "already_revoked"
    )
    assert vote(w, "aud2", "cert.lift_suspension", md, sid) == "not_suspended"


def test_a_suspended_lineage_certificate_blocks_new_certificates(wi):
    w, ids = wi
    suspend(w, "aud2", ids["dataset"])
    assert not w.gate(ids["model"]).passed
    cert = {
        "kind": "model",
        "subject": {"name": "m", "version": "3", "digest": "b" * 64},
        "lineage": [ids["dataset"], ids["labels"], ids["pipeline"]],
        "predicate": model_predicate(),
        "valid_from": 0,
        "valid_until": None,
    }
    assert w.submit("trainer", "cert.issue", {"cert": cert})[1] == "lineage_suspended"


def test_suspensions_are_state_in_app_hash_and_replay_the_same(wi):
    w, ids = wi
    before = w.chain.state.app_hash
    sid = suspend(w, "aud2", ids["model"])
    assert vote(w, "aud3", "cert.lift_suspension", ids["model"], sid) is None
    assert w.chain.state.app_hash != before
    from ledger_core.chain.verify import verify_chain

    assert verify_chain(w.chain.genesis, w.chain.store, rules=LEDGER_RULES).ok


@pytest.mark.parametrize(
    "tx_type,payload",
    [
        ("cert.suspend", {"cert_id": "a" * 64}),
        ("cert.suspend", {"cert_id": "a" * 64, "reason": ""}),
        ("cert.suspend", {"cert_id": "a" * 64, "reason": "x", "extra": 1}),
        ("cert.confirm_revocation", {"cert_id": "a" * 64}),
        ("cert.confirm_revocation", {"cert_id": "a" * 64, "suspension": "xyz"}),
        ("cert.lift_suspension", {"cert_id": ["a"], "suspension": "a" * 64}),
        ("cert.lift_suspension", {"cert_id": "a" * 64, "suspension": "a" * 64, "reason": "x"}),
    ],
)
def test_new_payloads_are_strict(wi, tx_type, payload):
    w, _ids = wi
    with pytest.raises(txm.TxError) as exc:
        w.make("aud2", tx_type, payload)
    assert exc.value.code == "bad_payload"


def test_majority_and_scope_rules():
    assert [revocation.majority(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]
    rec = {"issuer": "i" * 64, "issuer_org": "lab"}
    assert revocation.in_scope(rec, {"key_id": "i" * 64, "org": "lab", "roles": ["trainer"]})
    assert revocation.in_scope(rec, {"key_id": "a" * 64, "org": "lab", "roles": ["auditor"]})
    assert not revocation.in_scope(rec, {"key_id": "b" * 64, "org": "lab", "roles": ["trainer"]})
    assert not revocation.in_scope(rec, {"key_id": "c" * 64, "org": "qa2", "roles": ["auditor"]})
