"""Genesis validation, transaction form and state rules: every rejection has a reason code."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock.canonical import digest_hex
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain import genesis as gen
from ledger_core.chain import tx as txm
from ledger_core.chain.state import LedgerState
from ledger_core.crypto.domains import DOMAIN_TX, signing_bytes
from tests.support.ledger_world import consortium, report, signer

T0 = 1_700_000_000_000


@pytest.fixture(scope="module")
def c():
    return consortium()


def fresh(c) -> LedgerState:
    return LedgerState.from_genesis(c.genesis, LEDGER_RULES)[0]


def rejected(state: LedgerState, tx: txm.Tx, pending: int | None = None) -> str:
    with pytest.raises(txm.TxError) as info:
        state.admit(tx, pending, None)
    return info.value.code


# -- genesis -----------------------------------------------------------------------------


def test_chain_id_is_hash_of_genesis_body(c, tmp_path):
    assert c.genesis.chain_id == digest_hex(c.genesis.body)
    p = tmp_path / "genesis.json"
    p.write_bytes(gen.dumps(c.genesis))
    assert gen.load(p).chain_id == c.genesis.chain_id
    assert c.genesis.summary()["validators"] == 1


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda b: b["organisations"].append(dict(b["organisations"][0])), "appears twice"),
        (lambda b: b["participants"][1].update(key_id="0" * 64), "not the hash"),
        (lambda b: b["participants"][2].update(roles=["operator"]), "lacks"),
        (lambda b: b["participants"][1].update(roles=["validator"]), "only nodes"),
        (lambda b: b.update(validators=[b["participants"][1]["key_id"]]), "validator"),
        (lambda b: b["params"].update(bogus=1), "unknown parameter"),
        (lambda b: b["params"].update(trust_threshold_permille=2000), "between"),
        (lambda b: b["participants"][0].update(org="nobody"), "unknown organisation"),
        (lambda b: b.update(extra=1), "unknown field"),
    ],
)
def test_genesis_rejections(c, mutate, words):
    body = copy.deepcopy(c.genesis.body)
    mutate(body)
    with pytest.raises(gen.GenesisError, match=words):
        gen.validate(body)


@pytest.mark.parametrize("data", [b'{"version": 1.0}', b"\xff", b"[", b'{"version": NaN}'])
def test_genesis_bad_files(data, tmp_path):
    p = tmp_path / "g.json"
    p.write_bytes(data)
    with pytest.raises(gen.GenesisError):
        gen.load(p)
    with pytest.raises(gen.GenesisError, match="does not exist"):
        gen.load(tmp_path / "missing.json")


# -- stateless form ----------------------------------------------------------------------


def test_tx_roundtrip_and_signed_bytes(c):
    t = report(c.devices[0], c.chain_id, 1)
    assert txm.from_bytes(t.raw) == t
    assert t.signed_bytes() == signing_bytes(DOMAIN_TX, c.chain_id, t.body)
    assert txm.from_obj(json.loads(t.raw)).hash == t.hash


def test_unknown_type_oversized_and_bad_payload(c):
    d = c.devices[0]
    with pytest.raises(txm.TxError) as info:
        txm.make(d, c.chain_id, "coin.mint", 1, {}, T0)
    assert info.value.code == "unknown_type"
    with pytest.raises(txm.TxError) as info:
        txm.make(d, c.chain_id, "monitor.report", 1,
                 {"component": "c", "status": "ok", "metrics": {}, "about": None, "x": 1}, T0)
    assert info.value.code == "bad_payload"
    big = txm.make(d, c.chain_id, "monitor.report", 1,
                   {"component": "c", "status": "ok", "about": None,
                    "metrics": {f"m{i:02d}": 2**61 for i in range(32)}}, T0)
    with pytest.raises(txm.TxError) as info:
        txm.from_bytes(big.raw, max_bytes=600)
    assert info.value.code == "too_large"
    with pytest.raises(txm.TxError) as info:
        txm.from_bytes(b'{"body":1}')
    assert info.value.code == "bad_envelope"


# -- stateful rules ----------------------------------------------------------------------


def test_valid_tx_admitted(c):
    fresh(c).admit(report(c.devices[0], c.chain_id, 1), None, None)


def test_replayed_and_reordered_rejected(c):
    st_ = fresh(c)
    t1, t2 = report(c.devices[0], c.chain_id, 1), report(c.devices[0], c.chain_id, 2)
    res = st_.execute([t1, t2, t1], 1, T0 + 1)
    assert [x.hash for x in res.accepted] == [t1.hash, t2.hash]
    assert res.rejected[0][1].code == "bad_nonce"
    st_.apply(res, "1" * 64)
    assert rejected(st_, t1) == "bad_nonce"  # replay after commit
    assert rejected(st_, report(c.devices[0], c.chain_id, 4), pending=5) == "bad_nonce"  # reordered
    res = st_.execute([report(c.devices[0], c.chain_id, 5), report(c.devices[0], c.chain_id, 3)], 2, T0 + 2)
    assert len(res.accepted) == 1 and res.rejected[0][1].code == "bad_nonce"


def test_wrong_chain_bad_signature_unknown_sender(c):
    st_ = fresh(c)
    assert rejected(st_, report(c.devices[0], "ab" * 32, 1)) == "wrong_chain"
    good = report(c.devices[0], c.chain_id, 1)
    env = good.envelope()
    sig = bytearray.fromhex(env["signature"])
    sig[5] ^= 1
    assert rejected(st_, txm.from_obj({**env, "signature": sig.hex()})) == "bad_signature"
    other = report(c.devices[1], c.chain_id, 1)  # valid signature, but by another key
    forged = {"body": {**other.body, "sender": c.devices[0].key_id}, "signature": other.signature.hex()}
    assert rejected(st_, txm.from_obj(forged)) == "bad_signature"
    changed = {"body": {**good.body, "nonce": 2}, "signature": good.signature.hex()}
    assert rejected(st_, txm.from_obj(changed)) == "bad_signature"
    assert rejected(st_, report(signer("stranger"), c.chain_id, 1)) == "unknown_sender"


def test_roles_are_enforced(c):
    st_ = fresh(c)
    cert = {"cert": {"kind": "model", "subject": {"name": "m", "version": "1", "digest": "a" * 64},
                     "lineage": [], "predicate": {}, "valid_from": 0, "valid_until": None}}
    assert rejected(st_, txm.make(c.devices[0], c.chain_id, "cert.issue", 1, cert, T0)) == "role_not_allowed"
    infra = {"cert": {**cert["cert"], "kind": "infrastructure", "predicate": {"component": "camera"}}}
    st_.admit(txm.make(c.expert, c.chain_id, "cert.issue", 1, infra, T0), None, None)
    assert rejected(st_, report(c.other_expert, c.chain_id, 1)) == "role_not_allowed"
    prop = {"action": "set_param", "name": "trust_threshold_permille", "value": 700}
    assert rejected(st_, txm.make(c.expert, c.chain_id, "member.propose", 1, prop, T0)) == "role_not_allowed"
    reg = {"participant": {"key_id": signer("x").key_id, "public_key": signer("x").public_raw.hex(),
                           "name": "x", "kind": "device", "roles": ["operator"]}}
    assert rejected(st_, txm.make(c.devices[0], c.chain_id, "participant.register", 1, reg, T0)) == "role_not_allowed"
    rating = {"subject_kind": "org", "subject": "acme", "judges": "b" * 64, "positive": 1, "negative": 0}
    assert rejected(st_, txm.make(c.expert, c.chain_id, "rating.submit", 1, rating, T0)) == "self_rating"
    st_.admit(txm.make(c.other_expert, c.chain_id, "rating.submit", 1, rating, T0), None, None)


def test_register_revoke_rotate(c):
    st_ = fresh(c)
    new = signer("newcam")
    reg = {"participant": {"key_id": new.key_id, "public_key": new.public_raw.hex(), "name": "cam",
                           "kind": "device", "roles": ["monitor"]}}
    res = st_.execute([txm.make(c.expert, c.chain_id, "participant.register", 1, reg, T0),
                       report(new, c.chain_id, 1)], 1, T0 + 1)
    assert len(res.accepted) == 2, res.rejected
    st_.apply(res, "1" * 64)
    assert rejected(st_, txm.make(c.expert, c.chain_id, "participant.register", 2, reg, T0)) == "key_exists"
    revoke = {"key_id": new.key_id, "reason": "stolen"}
    assert rejected(st_, txm.make(c.other_expert, c.chain_id, "participant.revoke", 1, revoke, T0)) == "not_same_org"
    res = st_.execute([txm.make(c.expert, c.chain_id, "participant.revoke", 2, revoke, T0)], 2, T0 + 2)
    st_.apply(res, "2" * 64)
    assert rejected(st_, report(new, c.chain_id, 2)) == "revoked_sender"
    # key rotation needs the new key's proof
    dev, nk = c.devices[1], signer("rotated")
    proof = nk.sign(signing_bytes(DOMAIN_TX, c.chain_id, txm.rotation_proof_body(dev.key_id, nk.key_id)))
    bad = txm.make(dev, c.chain_id, "key.rotate", 1, {"public_key": nk.public_raw.hex(), "proof": "00" * 64}, T0)
    assert rejected(st_, bad) == "bad_key_proof"
    res = st_.execute([txm.make(dev, c.chain_id, "key.rotate", 1,
                                {"public_key": nk.public_raw.hex(), "proof": proof.hex()}, T0)], 3, T0 + 3)
    st_.apply(res, "3" * 64)
    assert rejected(st_, report(dev, c.chain_id, 2)) == "revoked_sender"
    st_.admit(report(nk, c.chain_id, 1), None, None)
    assert st_.tables["participant"][nk.key_id]["replaces"] == dev.key_id


def test_membership_quorum_takes_effect_two_heights_later(c):
    st_ = fresh(c)
    newnode = signer("node-2")
    reg = {"participant": {"key_id": newnode.key_id, "public_key": newnode.public_raw.hex(),
                           "name": "node-2", "kind": "node", "roles": []}}
    prop = {"action": "add_validator", "key_id": newnode.key_id}
    h = 0

    def block(txs):
        nonlocal h
        h += 1
        res = st_.execute(txs, h, T0 + h)
        assert not res.rejected, res.rejected
        st_.apply(res, f"{h:064x}")
        return res

    block([txm.make(c.expert, c.chain_id, "participant.register", 1, reg, T0)])
    block([txm.make(c.node, c.chain_id, "member.propose", 1, prop, T0)])
    assert newnode.key_id not in st_.validators()  # accepted at 2, effective at 4
    block([])
    assert newnode.key_id in st_.validators()  # set for height 4
    assert "validator" in st_.tables["participant"][newnode.key_id]["roles"]
    # two validators now: a quorum needs both
    p2 = {"action": "set_param", "name": "trust_threshold_permille", "value": 750}
    pt = txm.make(c.node, c.chain_id, "member.propose", 2, p2, T0)
    block([pt])
    assert st_.tables["proposal"][pt.hash]["status"] == "open"
    ap = txm.make(newnode, c.chain_id, "member.approve", 1, {"proposal": pt.hash}, T0)
    block([ap])
    assert st_.param("trust_threshold_permille") == 600
    block([])
    assert st_.param("trust_threshold_permille") == 750
    assert rejected(st_, txm.make(newnode, c.chain_id, "member.approve", 2, {"proposal": pt.hash}, T0)) == "proposal_closed"
    again = txm.make(c.node, c.chain_id, "member.propose", 3, {"action": "add_validator", "key_id": newnode.key_id}, T0)
    assert rejected(st_, again) == "already_validator"


# -- fuzzing -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_mutated_transactions_never_crash_or_store(c, data):
    st_ = fresh(c)
    before = copy.deepcopy(st_.tables)
    base = report(c.devices[0], c.chain_id, 1).raw
    raw = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        pos = data.draw(st.integers(0, len(raw) - 1))
        if op == "flip":
            raw[pos] = data.draw(st.integers(0, 255))
        elif op == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        else:
            del raw[pos]
    try:
        t = txm.from_bytes(bytes(raw))
        res = st_.execute([t], 1, T0 + 1)
        if res.accepted:  # only a byte-identical transaction can pass
            assert bytes(raw) == base
        else:
            assert res.rejected[0][1].code
    except txm.TxError as exc:
        assert exc.code and str(exc)
    assert st_.tables == before


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers(-5, 2**63) | st.text(max_size=8),
                    lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.text(max_size=8), ch, max_size=4),
                    max_leaves=12),
       st.sampled_from(sorted(txm.TX_TYPES)))
def test_fuzz_random_payloads(c, payload, tx_type):
    st_ = fresh(c)
    body = {"chain_id": c.chain_id, "type": tx_type, "sender": c.expert.key_id, "nonce": 1, "time": T0,
            "payload": payload}
    try:
        sig = c.expert.sign(signing_bytes(DOMAIN_TX, c.chain_id, body))
        t = txm.from_obj({"body": body, "signature": sig.hex()})
        res = st_.execute([t], 1, T0 + 1)
        assert res.accepted or res.rejected[0][1].code
    except txm.TxError as exc:
        assert exc.code
    except Exception as exc:  # only the encoder may refuse non-canonical values before signing
        from bedrock.canonical import EncodingError
        assert isinstance(exc, EncodingError)


def test_size_limit_of_the_height_applies(c):
    st_ = fresh(c)
    big = txm.make(c.devices[0], c.chain_id, "monitor.report", 1,
                   {"component": "c" * 100, "status": "ok", "about": None,
                    "metrics": {f"metric_{i:02d}": 10**15 + i for i in range(32)}}, T0)
    st_.admit(big, None, None)
    st_.tables["param"]["max_tx_bytes"] = {"value": 1024}  # as after a set_param proposal
    assert len(big.raw) > 1024
    assert rejected(st_, big) == "too_large"
    res = st_.execute([big], 1, T0 + 1)
    assert not res.accepted and res.rejected[0][1].code == "too_large"
