"""The consensus wire codec: round trips, reasons for rejection, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock.canonical import canonical, decode
from ledger_core.consensus import CachedVerifier, MessageError, decode_message
from tests.support.consensus_util import CHAIN, KEYS, precommit, prevote, proposal, value


def test_round_trip_of_each_kind():
    for m in (
        proposal(1, 1, 0, value("a")),
        prevote(2, 1, 0, None),
        precommit(3, 7, 2, value("b")),
    ):
        data = m.encode()
        assert decode(data) == m.to_wire()
        assert decode_message(data, CHAIN) == m


def test_precommit_body_is_exactly_the_commit_body():
    m = precommit(3, 7, 2, value("b"))
    assert m.body.body() == {
        "type": "precommit",
        "height": 7,
        "round": 2,
        "block_id": value("b").block_id,
    }


def wire(m, **changes):
    d = m.to_wire()
    for k, v in changes.items():
        if v is KeyError:
            del d[k]
        else:
            d[k] = v
    return canonical(d)


VOTE = prevote(1, 3, 1, value("a"))
PROP = proposal(1, 1, 2, value("a"), vr=1)


@pytest.mark.parametrize(
    "data, code",
    [
        (b"\xff\xfegarbage", "bad_utf8"),
        (b"\x00\x01garbage", "bad_json"),
        (b"not json", "bad_json"),
        (b'{"b":1,"a":2}', "not_canonical"),
        (b"[1,2]", "not_object"),
        (b'{"height":1.5}', "float"),
        (wire(VOTE, type="vote"), "bad_type"),
        (wire(VOTE, chain_id="other"), "wrong_chain"),
        (wire(VOTE, height=KeyError), "missing_field"),
        (wire(VOTE, extra=1), "unknown_field"),
        (wire(VOTE, height=-1), "bad_field"),
        (wire(VOTE, height=True), "bad_field"),
        (wire(VOTE, round="1"), "bad_field"),
        (wire(VOTE, block_id="XYZ"), "bad_block_id"),
        (wire(VOTE, block_id="abc"), "bad_block_id"),
        (wire(VOTE, validator="ab"), "bad_field"),
        (wire(VOTE, signature="00" * 10), "bad_field"),
        (wire(VOTE, signature="AA" * 64), "bad_field"),
        (wire(PROP, block_id=None), "bad_block_id"),
        (wire(PROP, valid_round=2), "bad_field"),
        (wire(PROP, valid_round=-2), "bad_field"),
        (wire(PROP, payload=KeyError), "missing_field"),
    ],
)
def test_rejections_carry_a_reason(data, code):
    with pytest.raises(MessageError) as info:
        decode_message(data, CHAIN)
    assert info.value.code == code


def test_size_limit():
    big = proposal(1, 1, 0, value("a"))
    data = big.encode()
    with pytest.raises(MessageError) as info:
        decode_message(data, CHAIN, max_bytes=len(data) - 1)
    assert info.value.code == "too_large"
    assert decode_message(data, CHAIN, max_bytes=len(data)) == big


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_message_error(data):
    try:
        m = decode_message(data, CHAIN)
    except MessageError:
        return
    assert m.encode() == data


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(VOTE.encode()) - 1), st.integers(0, 255))
def test_mutated_votes_are_rejected_or_fail_verification(pos, byte):
    data = bytearray(VOTE.encode())
    data[pos] = byte
    try:
        m = decode_message(bytes(data), CHAIN)
    except MessageError:
        return
    verify = CachedVerifier()
    pub = KEYS[1].public_raw
    if m != VOTE:
        assert not (m.validator == VOTE.validator and verify(pub, m.signature, m.sign_bytes()))


def test_cached_verifier_checks_each_message_once():
    calls = []

    def counting(pub, sig, msg):
        calls.append(1)
        from ledger_core.crypto.keys import verify_raw

        return verify_raw(pub, sig, msg)

    v = CachedVerifier(max_entries=2, verify=counting)
    m = prevote(1, 1, 0, None)
    assert v(KEYS[1].public_raw, m.signature, m.sign_bytes())
    assert v(KEYS[1].public_raw, m.signature, m.sign_bytes())
    assert not v(KEYS[2].public_raw, m.signature, m.sign_bytes())
    assert len(calls) == 2 and v.hits == 1


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=0, max_size=40), st.binary(min_size=0, max_size=70), st.booleans())
def test_pynacl_and_cryptography_verification_agree(pub, sig, real):
    from ledger_core.consensus.messages import ed25519_verify
    from ledger_core.crypto.keys import verify_raw

    m = prevote(1, 1, 0, value("a"))
    if real:
        pub, sig = KEYS[1].public_raw, m.signature
    assert ed25519_verify(pub, sig, m.sign_bytes()) == verify_raw(pub, sig, m.sign_bytes())
    if real:
        assert ed25519_verify(pub, sig, m.sign_bytes())
