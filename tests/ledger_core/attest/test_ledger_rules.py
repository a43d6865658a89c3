"""Certificate rules, ratings and the gate on the ledger state; each attack against its countermeasure."""

from __future__ import annotations

import pytest

from bedrock.canonical import digest_hex
from ledger_core.attest import certs
from ledger_core.attest.effects import reports
from ledger_core.attest.rules import LEDGER_RULES
from tests.support.cert_world import (
    CLASSES,
    PIPELINE_CONFIG,
    T0,
    certify_all,
    model_predicate,
    trust_everyone,
    world,
)


@pytest.fixture
def w(tmp_path):
    return world(tmp_path)


def test_full_flow_then_gate_passes_and_state_is_in_app_hash(w):
    before = w.chain.state.app_hash
    ids = certify_all(w)
    assert w.get("cert", ids["model"])["cert"]["lineage"] == [ids["dataset"], ids["labels"], ids["pipeline"]]
    v = w.gate(ids["model"])
    assert not v.passed and any("below the threshold" in r for r in v.reasons)  # newcomers: E = 0.5 < 0.6
    trust_everyone(w)
    v = w.gate(ids["model"])
    assert v.passed, v.reasons
    assert {c["kind"] for c in v.certs} == {"model", "dataset", "labels", "pipeline"}
    assert w.chain.state.app_hash != before
    # another node replaying the same blocks computes the same state and verdict
    from ledger_core.chain.verify import verify_chain
    assert verify_chain(w.chain.genesis, w.chain.store, rules=LEDGER_RULES).ok


def test_only_the_right_role_issues_a_kind(w):
    ids = certify_all(w)
    cert = {"kind": "labels", "subject": {"name": "l", "version": "1", "digest": "a" * 64},
            "lineage": [ids["dataset"]], "predicate": {"classes": CLASSES, "count": 1, "method": "x"},
            "valid_from": 0, "valid_until": None}
    # a labels certificate from an organisation without the auditor role
    assert w.submit("op", "cert.issue", {"cert": cert})[1] == "role_not_allowed"
    assert w.submit("trainer", "cert.issue", {"cert": {**cert, "kind": "dataset"}})[1] == "role_not_allowed"
    assert w.submit("aud2", "cert.issue", {"cert": cert})[1] is None


def test_predicates_and_lineage_are_checked(w):
    ids = certify_all(w)
    base = {"subject": {"name": "m", "version": "2", "digest": "b" * 64}, "valid_from": 0, "valid_until": None}
    bad_model = {**model_predicate(), "metrics": {"accuracy": 2_000_000}}
    cases = [
        ({"kind": "model", "lineage": [ids["dataset"], ids["labels"], ids["pipeline"]], "predicate": bad_model},
         "bad_predicate"),
        ({"kind": "model", "lineage": [ids["dataset"], ids["labels"]], "predicate": model_predicate()},
         "lineage_kind"),  # no pipeline certificate
        ({"kind": "model", "lineage": [ids["dataset"], ids["labels"], ids["pipeline"], "f" * 64],
          "predicate": model_predicate()}, "unknown_cert"),
        ({"kind": "model", "lineage": [ids["dataset"], ids["labels"], ids["pipeline"]],
          "predicate": {**model_predicate(), "classes": CLASSES[:5]}}, "bad_predicate"),
        ({"kind": "model", "lineage": [ids["dataset"], ids["labels"], ids["pipeline"]],
          "predicate": model_predicate("0" * 64)}, "bad_predicate"),  # not the pipeline's preprocessing
        ({"kind": "pipeline", "lineage": [], "predicate": {"config": PIPELINE_CONFIG, "config_digest": "0" * 64}},
         "bad_predicate"),
        ({"kind": "dataset", "lineage": [ids["model"]], "predicate": {"counts": {"a": 1}, "source_device": "c"}},
         "lineage_kind"),
        ({"kind": "dataset", "lineage": [], "predicate": {"counts": {}, "source_device": "c"}}, "bad_predicate"),
    ]
    for cert, code in cases:
        who = certs_role_holder(cert["kind"])
        assert w.submit(who, "cert.issue", {"cert": {**base, **cert}})[1] == code, cert
    # a retrained model names its parent: the family tree
    child = w.issue("trainer", "model", model_predicate(digest_hex(PIPELINE_CONFIG)),
                    [ids["dataset"], ids["labels"], ids["pipeline"], ids["model"]], digest="b" * 64)
    assert certs.lineage_closure(w.get, child)[:2] == [child, ids["dataset"]]
    assert ids["model"] in certs.lineage_closure(w.get, child)


def certs_role_holder(kind: str) -> str:
    return {"model": "trainer", "labels": "aud1"}.get(kind, "op")


def test_lineage_with_revoked_dataset_is_refused(w):
    ids = certify_all(w)
    trust_everyone(w)
    assert w.gate(ids["model"]).passed
    # only the issuer (or an auditor of its organisation) revokes at once
    assert w.submit("trainer", "cert.revoke", {"cert_id": ids["dataset"], "reason": "x"})[1] == "not_in_scope"
    assert w.submit("aud2", "cert.revoke", {"cert_id": ids["dataset"], "reason": "x"})[1] == "not_in_scope"
    assert w.submit("op", "cert.revoke", {"cert_id": ids["dataset"], "reason": "poisoned"})[1] is None
    assert w.submit("op", "cert.revoke", {"cert_id": ids["dataset"], "reason": "x"})[1] == "already_revoked"
    v = w.gate(ids["model"])
    assert not v.passed and any("revoked: poisoned" in r for r in v.reasons)
    # and no new certificate may derive from it
    cert = {"kind": "model", "subject": {"name": "m", "version": "3", "digest": "b" * 64},
            "lineage": [ids["dataset"], ids["labels"], ids["pipeline"]], "predicate": model_predicate(),
            "valid_from": 0, "valid_until": None}
    assert w.submit("trainer", "cert.issue", {"cert": cert})[1] == "lineage_revoked"


def test_cert_from_a_revoked_key_is_rejected(w):
    certify_all(w)
    # the lab revokes its second trainer's key; that key can no longer certify
    assert w.submit("trainer", "participant.revoke", {"key_id": w.keys["trainer2"].key_id, "reason": "left"})[1] is None
    ds = w.issue("op", "dataset", {"counts": {"a": 1}, "source_device": "c"}, digest="1" * 64)
    cert = {"kind": "infrastructure", "subject": {"name": "i", "version": "1", "digest": "a" * 64}, "lineage": [],
            "predicate": {"component": "gpu"}, "valid_from": 0, "valid_until": None}
    assert w.submit("trainer2", "cert.issue", {"cert": cert})[1] == "revoked_sender"
    assert ds


def test_swapped_weights_and_changed_dataset_fail_the_gate(w):
    ids = certify_all(w, dataset_digest="d" * 64, weights_digest="c" * 64)
    trust_everyone(w)
    assert w.gate(ids["model"], {ids["model"]: "c" * 64, ids["dataset"]: "d" * 64}).passed
    v = w.gate(ids["model"], {ids["model"]: "9" * 64})
    assert not v.passed and any("model" in r and "do not match" in r for r in v.reasons)
    v = w.gate(ids["model"], {ids["dataset"]: "8" * 64})
    assert not v.passed and any("dataset" in r and "do not match" in r for r in v.reasons)


def test_trainer_distrusted_by_auditors_next_model_refused(w):
    ids = certify_all(w)
    trust_everyone(w)
    assert w.gate(ids["model"]).passed
    for r in ("aud1", "aud2", "aud3"):
        assert w.rate(r, w.keys["trainer"].key_id, 0) is None  # latest rating replaces the earlier one
    nxt = w.issue("trainer", "model", model_predicate(digest_hex(PIPELINE_CONFIG)),
                  [ids["dataset"], ids["labels"], ids["pipeline"], ids["model"]], digest="b" * 64)
    v = w.gate(nxt)
    assert not v.passed and any("below the threshold" in r for r in v.reasons)
    trainer_op = w.trust().opinion(w.keys["trainer"].key_id)
    assert trainer_op.expected_ppm < 600_000 and len(trainer_op.contributions) == 3


def test_self_ratings_rejected_and_colluders_capped(w):
    op = w.keys["op"].key_id
    ids = certify_all(w)
    assert w.rate("op", op, 100) == "self_rating"
    assert w.rate("op", "plant", 100, kind="org") == "self_rating"
    assert w.rate("op", ids["dataset"], 100, kind="cert") == "self_rating"
    assert w.rate("op", "f" * 64, 100) == "unknown_subject"
    # three colluding experts of qa1 rate the trainer down; one honest auditor each of qa2, qa3 up
    for r in ("aud1", "aud1b", "aud1c"):
        assert w.rate(r, w.keys["trainer"].key_id, 0) is None
    for r in ("aud2", "aud3"):
        assert w.rate(r, w.keys["trainer"].key_id, 100) is None
    op_ = w.trust().opinion(w.keys["trainer"].key_id)
    qa1 = [c for c in op_.contributions if c.rater_org == "qa1"]
    cap = w.trust().params.org_cap_ppm
    assert sum(c.weight_ppm for c in qa1) <= cap < 3 * 500_000
    assert op_.belief_ppm > op_.disbelief_ppm  # without the cap, 3 x 0.5 against 2 x 0.5 would win


def test_monitor_reports_and_batches_are_queryable_state(w):
    ids = certify_all(w)
    tx, code = w.submit("op", "monitor.report", {"component": "camera-1", "status": "degraded",
                                                 "metrics": {"fps": 12}, "about": ids["pipeline"]})
    assert code is None and w.get("report", tx.hash)["status"] == "degraded"
    assert w.submit("op", "monitor.report", {"component": "gpu", "status": "ok", "metrics": {}, "about": None})[1] is None
    assert [r["component"] for r in reports(w.get, w.tkeys)] == ["gpu", "camera-1"]
    assert [r["tx"] for r in reports(w.get, w.tkeys, status="degraded")] == [tx.hash]
    assert w.submit("op", "monitor.report", {"component": "c", "status": "ok", "metrics": {},
                                             "about": "f" * 64})[1] == "unknown_cert"
    b = {"root": "1" * 64, "count": 3, "station": "s1", "from_time": 1, "until_time": 2,
         "model_cert": ids["model"], "pipeline_cert": ids["pipeline"]}
    tx, code = w.submit("op", "inspection.batch", b)
    assert code is None and w.get("batch", tx.hash)["root"] == "1" * 64
    assert w.submit("op", "inspection.batch", {**b, "model_cert": "f" * 64})[1] == "unknown_cert"


def test_trust_over_time_from_the_rating_transactions(w):
    from ledger_core.attest.gate import expected_over_time, rating_history

    ids = certify_all(w)
    trainer = w.keys["trainer"].key_id
    start = w.chain.state.height
    trust_everyone(w)
    mid = w.chain.state.height
    for r in ("aud1", "aud2", "aud3"):
        w.rate(r, trainer, 0)
    ratings = rating_history(w.chain.store, w.get)
    assert len(ratings) == 13  # 10 vouching + 3 later ones, replaced in the book by rater
    tv = w.trust()
    series = dict(expected_over_time(ratings, tv.params, trainer, [start, mid, w.chain.state.height]))
    assert series[start] == 500_000 and series[mid] > 600_000 > series[w.chain.state.height]
    assert series[w.chain.state.height] == tv.opinion(trainer).expected_ppm
    owners = {ids["model"]: (trainer, "lab")}
    now = expected_over_time(ratings, tv.params, ids["model"], [w.chain.state.height], owners)
    assert now == [(w.chain.state.height, tv.cert(ids["model"]).expected_ppm)]


def test_validity_is_judged_at_the_block_time(w):
    # blocks are 1 s apart from genesis time T0; the dataset is valid for 2.5 s
    ds = w.issue("op", "dataset", {"counts": {"crazing": 1}, "source_device": "c"}, valid_until=T0 + 2_500)
    lb = {"kind": "labels", "subject": {"name": "l", "version": "1", "digest": "a" * 64}, "lineage": [ds],
          "predicate": {"classes": ["crazing"], "count": 1, "method": "m"}, "valid_from": 0, "valid_until": None}
    assert w.submit("aud1", "cert.issue", {"cert": lb})[1] is None  # block 2, T0 + 2 s
    # block 3 is at T0 + 3 s, whatever time the issuer's client wrote into the transaction
    assert w.submit("aud1", "cert.issue", {"cert": {**lb, "subject": {**lb["subject"], "version": "2"}}})[1] == \
        "lineage_expired"
    from ledger_core.attest.gate import evaluate

    v = evaluate(w.get, w.tkeys, w.chain.state.height, w.chain.state.last_time, ds, kind=None)
    assert any("not within its validity" in r for r in v.reasons)


def test_revoked_issuer_key_distrusts_its_certificates_rotation_does_not(w):
    from ledger_core.chain.tx import rotation_proof_body
    from ledger_core.crypto.domains import DOMAIN_TX, signing_bytes
    from ledger_core.crypto.keys import KeyPair
    from ledger_core.crypto.signing import Signer

    ids = certify_all(w)
    trust_everyone(w)
    other = w.issue("trainer2", "model", model_predicate(digest_hex(PIPELINE_CONFIG)),
                    [ids["dataset"], ids["labels"], ids["pipeline"]], digest="b" * 64)
    for r in ("aud2", "aud3"):
        w.rate(r, w.keys["trainer2"].key_id, 100)
    assert w.gate(other).passed
    # the trainer rotates its key: its model stays in service
    new = Signer.from_keypair(KeyPair.generate())
    proof = new.sign(signing_bytes(DOMAIN_TX, w.chain.chain_id, rotation_proof_body(w.keys["trainer"].key_id,
                                                                                       new.key_id)))
    assert w.submit("trainer", "key.rotate", {"public_key": new.public_raw.hex(), "proof": proof.hex()})[1] is None
    assert w.get("participant", w.keys["trainer"].key_id)["status"] == "rotated"
    v = w.gate(ids["model"])
    assert v.passed, v.reasons
    # the lab revokes trainer2's key: its model is out
    assert w.submit("trainer", "participant.revoke", {"key_id": w.keys["trainer2"].key_id, "reason": "stolen"})[1] \
        == "revoked_sender"  # the rotated key cannot act any more
    w.keys["trainer-new"] = new
    assert w.submit("trainer-new", "participant.revoke", {"key_id": w.keys["trainer2"].key_id,
                                                          "reason": "stolen"})[1] is None
    v = w.gate(other)
    assert not v.passed and any("issuer's key has been revoked" in r for r in v.reasons)
