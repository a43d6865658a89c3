"""Which model a station runs, from a ledger state and the digests of its files (no files read):
the fallback to the last model that passed, a revocation at a height, an unreadable or changed
file, and a station whose weights have no certificate."""

from __future__ import annotations

from pathlib import Path

import pytest

from bedrock.canonical import digest_hex
from ledger_core.attest.model_choice import Candidate, ModelChoice, StationChoice
from tests.support import cert_world as cw
from tests.support.cert_world import certify_all, trust_everyone, world

OLD, NEW = Path("old.safetensors"), Path("new.safetensors")
OLD_DIGEST, NEW_DIGEST = "c" * 64, "e" * 64


@pytest.fixture
def wi(tmp_path):
    """A world whose model certificate certifies the weights digest OLD_DIGEST, and its ids."""
    w = world(tmp_path)
    ids = certify_all(w, weights_digest=OLD_DIGEST)
    trust_everyone(w)
    return w, ids


def decide(w, choice, digests):
    return choice.decide(w.get, w.tkeys, w.chain.state.height, cw.T0 + 10, digests)


def retrain(w, ids) -> str:
    return w.issue("trainer", "model", cw.model_predicate(digest_hex(cw.PIPELINE_CONFIG)),
                   [ids["dataset"], ids["labels"], ids["pipeline"], ids["model"]],
                   digest=NEW_DIGEST)


def test_falls_back_to_the_newest_model_that_passed_and_still_passes(wi):
    w, ids = wi
    digests = {OLD: OLD_DIGEST, NEW: NEW_DIGEST}
    old = Candidate(ids["model"], OLD)
    choice = ModelChoice(old)
    st = decide(w, choice, digests)
    assert st.active == old and st.changed and st.verdict.passed
    assert st.message == f"model {old.cert_id[:16]} passes the trust gate"
    new = Candidate(retrain(w, ids), NEW)
    choice.prefer(new)
    st = decide(w, choice, digests)
    assert st.active == new and st.changed and choice.passed_before == [old, new]
    assert not decide(w, choice, digests).changed  # the same model again
    assert w.submit("aud2", "cert.revoke", {"cert_id": new.cert_id, "reason": "drift"})[1] is None
    st = decide(w, choice, digests)
    assert st.active == old and st.changed and not st.verdict.passed
    assert "revoked: drift" in st.message
    assert st.message.endswith(f"falling back to model {old.cert_id[:16]}")
    # the old model's weights no longer match its certificate: nothing passes
    st = decide(w, choice, {**digests, OLD: "f" * 64})
    assert st.active is None and st.changed and st.message.endswith("inspection stopped")
    assert st.as_dict()["active"] is None and st.as_dict()["verdict"]["cert_id"] == new.cert_id


def test_revocation_takes_effect_at_its_height(wi):
    w, ids = wi
    choice = ModelChoice(Candidate(ids["model"], OLD))
    before = w.chain.state.height
    assert decide(w, choice, {OLD: OLD_DIGEST}).active is not None
    assert w.submit("aud2", "cert.revoke", {"cert_id": ids["model"], "reason": "bad"})[1] is None
    st = decide(w, choice, {OLD: OLD_DIGEST})
    assert st.height == before + 1 == w.get("cert", ids["model"])["revoked_height"]
    assert st.active is None and st.changed and any("revoked: bad" in r for r in st.verdict.reasons)


def test_unreadable_weights_and_local_artifacts(wi):
    w, ids = wi
    st = decide(w, ModelChoice(Candidate(ids["model"], OLD)), {OLD: None})
    assert st.active is None and st.verdict.reasons[0] == f"the weights {OLD} cannot be read"
    ds = Path("dataset")
    cand = Candidate(ids["model"], OLD, ((ids["dataset"], ds),))
    assert decide(w, ModelChoice(cand), {OLD: OLD_DIGEST, ds: "d" * 64}).active == cand
    st = decide(w, ModelChoice(cand), {OLD: OLD_DIGEST, ds: None})  # missing: cannot match
    assert st.active is None
    assert any("dataset" in r and "do not match" in r for r in st.verdict.reasons)


def test_a_certificate_not_on_the_ledger_is_refused(wi):
    w, ids = wi
    st = decide(w, ModelChoice(Candidate("9" * 64, OLD)), {OLD: OLD_DIGEST})
    assert st.active is None and not st.changed  # nothing ran before either
    assert st.verdict.reasons == [f"certificate {'9' * 16} is not on the ledger"]


def test_only_the_files_judged_are_read(wi):
    w, ids = wi
    asked: list[Path] = []

    class OnDemand(dict):
        def __missing__(self, path):
            asked.append(path)
            return {OLD: OLD_DIGEST, NEW: NEW_DIGEST}[path]

    new = Candidate(retrain(w, ids), NEW)
    choice = ModelChoice(new, passed_before=[Candidate(ids["model"], OLD)])
    assert decide(w, choice, OnDemand()).active == new
    assert asked == [NEW]  # the fallback is not judged while the preferred model passes


def test_station_without_a_certificate_for_its_weights(tmp_path):
    w = world(tmp_path)
    w.block()
    station = StationChoice(OLD, OLD_DIGEST)
    st = decide(w, station, {OLD: OLD_DIGEST})
    assert st == {"height": w.chain.state.height, "active": None, "changed": True,
                  "verdict": {"reasons": [st["message"]]},
                  "message": f"no active model certificate on the ledger for {OLD.name} "
                             f"(digest {OLD_DIGEST[:12]})"}
    ids = certify_all(w, weights_digest=OLD_DIGEST)
    trust_everyone(w)
    st = decide(w, station, {OLD: OLD_DIGEST})
    assert st["active"] == {"cert_id": ids["model"], "weights": str(OLD)} and st["changed"]
    kept = station.choice
    assert not decide(w, station, {OLD: OLD_DIGEST})["changed"] and station.choice is kept
    assert w.submit("aud2", "cert.revoke", {"cert_id": ids["model"], "reason": "drift"})[1] is None
    st = decide(w, station, {OLD: OLD_DIGEST})
    assert st["active"] is None and "no active model certificate" in st["message"]
    assert station.choice is None
