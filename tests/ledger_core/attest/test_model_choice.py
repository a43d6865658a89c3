"""Which model a station runs, from a ledger state and the digests of its files (no files read):
the fallback to the last model that passed, a revocation at a height, an unreadable or changed
file, and a station whose weights have no certificate."""

from __future__ import annotations

from pathlib import Path

import pytest

from bedrock.canonical import digest_hex
from ledger_core.attest.model_choice import (
    Acceptance,
    Candidate,
    ModelChoice,
    StationChoice,
    eligible_certificates,
)
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
    assert w.submit("trainer", "cert.revoke", {"cert_id": new.cert_id, "reason": "drift"})[1] is None
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
    assert w.submit("trainer", "cert.revoke", {"cert_id": ids["model"], "reason": "bad"})[1] is None
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
    assert st == {"height": w.chain.state.height, "active": None, "changed": False,
                  "verdict": {"reasons": [st["message"]]}, "digest": OLD_DIGEST,
                  "message": f"no active model certificate on the ledger for {OLD.name} "
                             f"(digest {OLD_DIGEST[:12]})"}
    ids = certify_all(w, weights_digest=OLD_DIGEST)
    trust_everyone(w)
    st = decide(w, station, {OLD: OLD_DIGEST})
    assert st["active"] == {"cert_id": ids["model"], "weights": str(OLD)} and st["changed"]
    assert station.active == ids["model"] and station.sticky_org == "lab"
    assert not decide(w, station, {OLD: OLD_DIGEST})["changed"]
    assert w.submit("trainer", "cert.revoke", {"cert_id": ids["model"], "reason": "drift"})[1] is None
    st = decide(w, station, {OLD: OLD_DIGEST})
    assert st["active"] is None and "no active model certificate" in st["message"]
    assert station.active is None and st["changed"]


# --- the choice rule: which certificate a station uses for its weights (issue 14, finding 2) ---

def rival_setup(tmp_path):
    from tests.support.rival_world import rival_world

    w = rival_world(tmp_path)
    ids = certify_all(w, weights_digest=OLD_DIGEST)
    trust_everyone(w)
    return w, ids


def eligible(w, accept, sticky=None, now=cw.T0 + 10):
    return eligible_certificates(w.get, w.tkeys, OLD_DIGEST, now, accept, sticky)


def test_choice_rule_earliest_from_accepted_issuers(tmp_path):
    from tests.support.rival_world import rival_certifies

    w, ids = rival_setup(tmp_path)
    rival = rival_certifies(w, ids, OLD_DIGEST)
    again = w.issue("trainer2", "model", cw.model_predicate(digest_hex(cw.PIPELINE_CONFIG)),
                    [ids["dataset"], ids["labels"], ids["pipeline"]], digest=OLD_DIGEST)
    # no configuration, no history: every issuer, the earliest issued first
    assert eligible(w, Acceptance()) == ([ids["model"], rival, again], 0)
    # the issuer of the certificate used before (sticky), or configured organisations
    assert eligible(w, Acceptance(), sticky="lab") == ([ids["model"], again], 1)
    assert eligible(w, Acceptance.of(orgs=["rival"])) == ([rival], 2)
    assert eligible(w, Acceptance.of(orgs=["rival"]), sticky="lab") == ([rival], 2)  # config wins
    # a pinned certificate and no other, whatever it is (the gate judges it)
    assert eligible(w, Acceptance.of(pinned=rival)) == ([rival], 0)
    # not active, or out of validity: not eligible
    assert w.submit("trainer", "cert.revoke", {"cert_id": ids["model"], "reason": "x"})[1] is None
    assert eligible(w, Acceptance(), sticky="lab") == ([again], 1)
    short = rival_certifies(w, ids, OLD_DIGEST, valid_until=cw.T0 + 5)
    assert short not in eligible(w, Acceptance())[0] and short in eligible(w, Acceptance(), now=cw.T0)[0]


def test_a_rival_certificate_for_the_same_digest_changes_nothing(tmp_path):
    """Attack: a competitor's trainer certifies the victim's public weights digest, short-lived
    and with low trust. The station keeps the certificate it uses and keeps inspecting (the old
    rule, the newest matching certificate from any issuer, switched to the rival's and stopped)."""
    from tests.support.rival_world import rival_certifies

    w, ids = rival_setup(tmp_path)
    station = StationChoice(OLD, OLD_DIGEST)
    assert decide(w, station, {OLD: OLD_DIGEST})["active"]["cert_id"] == ids["model"]
    rival_certifies(w, ids, OLD_DIGEST, valid_until=cw.T0 + 20)
    rival_certifies(w, ids, OLD_DIGEST)  # and one that never expires, but has little trust
    for now in (cw.T0 + 10, cw.T0 + 30):  # before and after the short one expires
        st = station.decide(w.get, w.tkeys, w.chain.state.height, now, {OLD: OLD_DIGEST})
        assert st["active"]["cert_id"] == ids["model"] and not st["changed"], st["message"]
    # a fresh station (no history) also takes the earliest: the victim's
    fresh = StationChoice(OLD, OLD_DIGEST)
    assert decide(w, fresh, {OLD: OLD_DIGEST})["active"]["cert_id"] == ids["model"]


def test_sticky_issuer_is_not_replaced_by_a_trusted_rival(tmp_path):
    """Even a rival the consortium trusts does not take over a station that used another
    issuer's certificate: when that certificate is revoked the station stops (its issuer meant
    it) instead of running under the rival's lineage; configuring the rival's organisation
    (or pinning its certificate) is how a station opts in."""
    from tests.support.rival_world import rival_certifies

    w, ids = rival_setup(tmp_path)
    for r in ("aud2", "aud3"):
        assert w.rate(r, w.keys["rival"].key_id, 100) is None
    station = StationChoice(OLD, OLD_DIGEST)
    assert decide(w, station, {OLD: OLD_DIGEST})["active"]["cert_id"] == ids["model"]
    rival = rival_certifies(w, ids, OLD_DIGEST)
    assert w.gate(rival).passed
    assert w.submit("trainer", "cert.revoke", {"cert_id": ids["model"], "reason": "drift"})[1] is None
    st = decide(w, station, {OLD: OLD_DIGEST})
    assert st["active"] is None and "from an accepted issuer" in st["message"]
    assert "1 from other issuers ignored" in st["message"]
    opted = StationChoice(OLD, OLD_DIGEST, Acceptance.of(orgs=["rival"]))
    assert decide(w, opted, {OLD: OLD_DIGEST})["active"]["cert_id"] == rival


def test_pinned_certificate_for_other_weights_is_refused(wi):
    w, ids = wi
    station = StationChoice(OLD, NEW_DIGEST, Acceptance.of(pinned=ids["model"]))
    st = decide(w, station, {OLD: NEW_DIGEST})
    assert st["active"] is None and "do not match the certified digest" in st["message"]
    station.digest = OLD_DIGEST
    assert decide(w, station, {OLD: OLD_DIGEST})["active"]["cert_id"] == ids["model"]


def test_falls_through_to_the_next_accepted_certificate_that_passes(wi):
    """Order only ranks accepted issuers' certificates: when the earliest fails the gate, the
    next one from an accepted issuer that passes is used."""
    w, ids = wi
    for r in ("aud2", "aud3"):
        assert w.rate(r, w.keys["trainer2"].key_id, 100) is None
    again = w.issue("trainer2", "model", cw.model_predicate(digest_hex(cw.PIPELINE_CONFIG)),
                    [ids["dataset"], ids["labels"], ids["pipeline"]], digest=OLD_DIGEST)
    station = StationChoice(OLD, OLD_DIGEST)
    assert decide(w, station, {OLD: OLD_DIGEST})["active"]["cert_id"] == ids["model"]
    for r in ("aud1", "aud2", "aud3"):
        w.rate(r, ids["model"], 0, kind="cert")
    st = decide(w, station, {OLD: OLD_DIGEST})
    assert st["active"]["cert_id"] == again and st["changed"]


def test_verify_checks_the_earliest_usable_certificate_not_a_later_rival(tmp_path):
    """`bcmlp verify FILE` and the Certificates and Models pages pick the certificate to check
    with `queries.certificate_for`: a rival's later certificate of the same public digest does
    not displace the victim's (the old pick, the newest with the digest, took the rival's); when
    none is usable, the newest is the one whose failure is reported."""
    from ledger_core.attest.queries import certificate_for
    from tests.support.rival_world import rival_certifies

    w, ids = rival_setup(tmp_path)
    rival = rival_certifies(w, ids, OLD_DIGEST)
    assert certificate_for(w.get, w.tkeys, OLD_DIGEST, cw.T0 + 10) == ids["model"]
    assert w.submit("trainer", "cert.revoke", {"cert_id": ids["model"], "reason": "x"})[1] is None
    assert certificate_for(w.get, w.tkeys, OLD_DIGEST, cw.T0 + 10) == rival
    assert w.submit("rival", "cert.revoke", {"cert_id": rival, "reason": "x"})[1] is None
    assert certificate_for(w.get, w.tkeys, OLD_DIGEST, cw.T0 + 10) == rival  # newest, to report
    assert certificate_for(w.get, w.tkeys, "0" * 64, cw.T0) is None
