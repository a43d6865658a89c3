"""Check-by-check verification of certificates and offline proof bundles."""

from __future__ import annotations

import json

import pytest

from bedrock.canonical import canonical
from ledger_core.attest.proofs import BundleError, Live, build_bundle, check_bundle
from tests.support.cert_world import T0, certify_all, trust_everyone, world


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
    assert w.submit("aud2", "cert.revoke", {"cert_id": ids["dataset"], "reason": "poisoned"})[1] is None
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
