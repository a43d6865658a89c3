"""Check-by-check verification of certificates and offline proof bundles."""

from __future__ import annotations

import json

import pytest

from bedrock.canonical import canonical
from ledger_core.attest.proofs import BundleError, Live, build_bundle, check_bundle
from ledger_core.chain import genesis as gen
from ledger_core.chain import tx as txm
from ledger_core.crypto.domains import DOMAIN_TX, signing_bytes
from tests.support.cert_world import CLASSES, T0, certify_all, trust_everyone, world
from tests.support.ledger_world import signer


@pytest.fixture
def w(tmp_path):
    return world(tmp_path)


def live(w):
    return Live(w.get, w.tkeys, w.chain.state.height, T0 + 10)


def failed(rep):
    return {c.name for c in rep.checks if not c.ok}


def test_online_and_offline_verification(w):
    ids = certify_all(w)
    trust_everyone(w)
    rep = check_bundle(build_bundle(w.chain.store, w.chain.genesis, live(w), ids["model"]), w.chain.genesis,
                       live(w), "c" * 64)
    assert rep.ok, rep.as_dict()
    names = [c.name for c in rep.checks]
    for n in ("issuer signature", "issuer role", "commit", "inclusion", "not revoked", "validity", "files",
              "trust", "lineage"):
        assert n in names
    assert any(n.startswith("lineage ") and n.endswith("commit") for n in names)
    bundle = json.loads(canonical(build_bundle(w.chain.store, w.chain.genesis, live(w), ids["model"])))
    assert check_bundle(bundle, w.chain.genesis).ok  # offline: genesis only
    assert failed(check_bundle(bundle, w.chain.genesis, local_digest="9" * 64)) == {"files"}


def test_tampered_bundles_fail(w):
    ids = certify_all(w)
    trust_everyone(w)
    good = json.loads(canonical(build_bundle(w.chain.store, w.chain.genesis, live(w), ids["model"])))
    b = json.loads(json.dumps(good))
    b["commit"]["signatures"][0]["signature"] = "0" * 128
    assert "commit" in failed(check_bundle(b, w.chain.genesis))
    b = json.loads(json.dumps(good))
    b["inclusion"] = ["0" * 64] * len(b["inclusion"]) or ["0" * 64]
    assert "inclusion" in failed(check_bundle(b, w.chain.genesis))
    b = json.loads(json.dumps(good))
    b["lineage"][0]["tx"]["body"]["payload"]["cert"]["subject"]["digest"] = "7" * 64
    assert not check_bundle(b, w.chain.genesis).ok
    b = json.loads(json.dumps(good))
    b["lineage"] = b["lineage"][1:]
    assert "lineage" in failed(check_bundle(b, w.chain.genesis))
    with pytest.raises(BundleError):
        check_bundle({"cert_id": "x"}, w.chain.genesis)


def test_revoked_lineage_fails_online(w):
    ids = certify_all(w)
    trust_everyone(w)
    assert w.submit("op", "cert.revoke", {"cert_id": ids["dataset"], "reason": "poisoned"})[1] is None
    rep = check_bundle(build_bundle(w.chain.store, w.chain.genesis, live(w), ids["model"]), w.chain.genesis, live(w))
    bad = failed(rep)
    assert f"lineage {ids['dataset'][:16]}: not revoked" in bad and "lineage" in bad


def test_four_validator_consortium_bundle(tmp_path):
    """Commits signed by 3 of 4 genesis validators verify offline; with 2 signatures they do not."""
    w = world(tmp_path, validators=4, signing=3)
    ids = certify_all(w)
    trust_everyone(w)
    bundle = json.loads(canonical(build_bundle(w.chain.store, w.chain.genesis, live(w), ids["model"])))
    assert len(bundle["validators"]) == 4 and len(bundle["commit"]["signatures"]) == 3
    rep = check_bundle(bundle, w.chain.genesis)
    assert rep.ok and any("signed by 3 of 4 validators" in c.reason for c in rep.checks)
    bundle["commit"]["signatures"] = bundle["commit"]["signatures"][:2]
    rep = check_bundle(bundle, w.chain.genesis)
    assert "commit" in failed(rep) and any("no_quorum" in c.reason for c in rep.checks)


# -- issue 14, finding 6: offline bundles prove only what they can --------------------------------

def names(checks):
    return {c.name for c in checks}


def test_offline_statements_are_listed_apart_and_never_count_as_proven(w):
    """A bundle exported before the model was revoked (or edited to say so) still says "active":
    offline that is the exporter's statement, listed as unproven, and the verdict is "proven",
    never "verified"."""
    ids = certify_all(w)
    trust_everyone(w)
    assert w.submit("trainer", "cert.revoke", {"cert_id": ids["model"], "reason": "leaked"})[1] is None
    honest = json.loads(canonical(build_bundle(w.chain.store, w.chain.genesis, live(w), ids["model"])))
    rep = check_bundle(honest, w.chain.genesis)
    assert not rep.ok and rep.verdict == "failed"  # a statement against the certificate is not ignored
    assert "not revoked" in names(rep.unproven) and rep.proven_ok
    # the lie: status active, full trust, a fresh export time
    lie = json.loads(json.dumps(honest))
    lie["status"] = {"status": "active", "revoked_height": None, "revoked_by": None, "reason": None}
    lie["trust"]["expected_ppm"] = 1_000_000
    lie["as_of"] = {"height": 10**6, "time": 4_000_000_000_000}
    rep = check_bundle(lie, w.chain.genesis)
    assert rep.verdict == "proven" != "verified"
    stated = {"not revoked", "trust", "validity", "issuer key not revoked"}
    assert stated <= names(rep.unproven) and not stated & names(rep.proven)
    assert all("not provable offline" in c.reason for c in rep.unproven if c.name in stated)
    d = rep.as_dict()
    assert d["verdict"] == "proven" and stated <= {c["check"] for c in d["unproven"]}
    assert not stated & {c["check"] for c in d["checks"]}
    assert {"issuer signature", "issuer role", "commit", "inclusion", "lineage"} <= {c["check"] for c in d["checks"]}
    # online, from the verifier's own ledger, everything is proven: revoked
    on = check_bundle(lie, w.chain.genesis, live(w))
    assert not on.unproven and "not revoked" in failed(on)


def test_validity_offline_is_judged_by_the_verifiers_clock_not_the_export_time(w):
    short = w.issue("op", "infrastructure", {"component": "camera-1"}, valid_until=T0 + 5_000)
    b = json.loads(canonical(build_bundle(w.chain.store, w.chain.genesis, live(w), short)))
    b["as_of"]["time"] = T0  # the exporter claims it was exported while still valid
    rep = check_bundle(b, w.chain.genesis, now_ms=T0 + 60_000)
    assert "validity" in failed(rep) and "validity" in names(rep.proven)
    assert "this computer's clock" in next(c.reason for c in rep.checks if c.name == "validity")
    assert check_bundle(b, w.chain.genesis, now_ms=T0 + 1_000).proven_ok


def _forged(w, good, signer, sender, cert):
    body = {**good["tx"]["body"], "sender": sender, "payload": {"cert": cert}}
    sig = signer.sign(signing_bytes(DOMAIN_TX, w.chain.chain_id, body))
    tx = txm.from_obj({"body": body, "signature": sig.hex()})
    return {**json.loads(json.dumps(good)), "tx": tx.envelope(), "cert_id": tx.hash}


def test_issuer_key_and_roles_come_from_genesis_not_from_the_bundle(w):
    ids = certify_all(w)
    trust_everyone(w)
    good = json.loads(canonical(build_bundle(w.chain.store, w.chain.genesis, live(w), ids["model"])))
    trainer = w.keys["trainer"]
    # a forged key: the bundle names the trainer's key id with the attacker's public key
    attacker = signer("attacker")
    b = _forged(w, good, attacker, trainer.key_id, good["tx"]["body"]["payload"]["cert"])
    b["issuer"]["public_key"] = attacker.public_raw.hex()
    rep = check_bundle(b, w.chain.genesis)
    assert "issuer signature" in failed(rep) and not rep.proven_ok
    # forged roles: the trainer signs a labels certificate, its bundle claims the auditor role
    labels = {"kind": "labels", "subject": {"name": "l", "version": "9", "digest": "a" * 64},
              "lineage": [ids["dataset"]], "predicate": {"classes": CLASSES, "count": 1, "method": "x"},
              "valid_from": 0, "valid_until": None}
    b = _forged(w, good, trainer, trainer.key_id, labels)
    b["issuer"]["roles"] = ["auditor", "trainer"]
    b["issuer"]["org"], b["issuer"]["name"] = "qa1", "Trusted QA"
    rep = check_bundle(b, w.chain.genesis)
    assert "issuer signature" not in failed(rep) and "issuer role" in failed(rep)
    role = next(c.reason for c in rep.checks if c.name == "issuer role")
    assert "lacks the auditor role in the genesis file" in role and "Trusted QA" not in role
    # the honest model bundle with a lying issuer record still verifies: the record is ignored
    b = json.loads(json.dumps(good))
    b["issuer"]["name"], b["issuer"]["org"] = "Trusted QA", "qa1"
    rep = check_bundle(b, w.chain.genesis)
    role = next(c.reason for c in rep.checks if c.name == "issuer role")
    assert rep.ok and "trainer (lab)" in role and "differs from genesis and is ignored" in role


def test_an_issuer_not_in_genesis_is_refused_offline(w):
    newcomer = signer("op-newcomer")
    entry = gen.participant_entry(newcomer.public_raw, "plant", "op2", "expert", ["operator"])
    del entry["org"]  # the registering expert's organisation
    assert w.submit("op", "participant.register", {"participant": entry})[1] is None
    w.keys["op2"] = newcomer
    ds = w.issue("op2", "dataset", {"counts": {"a": 1}, "source_device": "cam"})
    b = json.loads(canonical(build_bundle(w.chain.store, w.chain.genesis, live(w), ds)))
    rep = check_bundle(b, w.chain.genesis)
    assert {"issuer signature", "issuer role"} <= failed(rep) and not rep.proven_ok
    assert all("not in the genesis file" in c.reason for c in rep.checks if c.name.startswith("issuer "))
    assert failed(check_bundle(b, w.chain.genesis, live(w))) <= {"trust"}  # online the ledger knows it


def test_a_suspended_certificate_exports_and_fails_online(w):
    ids = certify_all(w)
    trust_everyone(w)
    assert w.submit("aud2", "cert.suspend", {"cert_id": ids["model"], "reason": "drift"})[1] is None
    b = build_bundle(w.chain.store, w.chain.genesis, live(w), ids["model"])
    assert b["status"]["status"] == "suspended"
    rep = check_bundle(b, w.chain.genesis, live(w))
    assert "not revoked" in failed(rep)
    assert "suspended at height" in next(c.reason for c in rep.checks if c.name == "not revoked")
    off = check_bundle(json.loads(canonical(b)), w.chain.genesis)
    assert off.verdict == "failed" and off.proven_ok
