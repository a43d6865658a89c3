"""Double-sign evidence: construction, verification, canonical JSON round trip, the pool."""

from __future__ import annotations

import pytest

from bedrock.canonical import canonical, decode
from ledger_core.consensus import DoubleSign, EvidenceError, EvidencePool, Signed, ValidatorSet
from tests.support.consensus_util import CHAIN, KEYS, VS, precommit, prevote, proposal, value


def test_double_prevote_is_evidence_in_one_canonical_form():
    a, b = prevote(2, 3, 1, value("a")), prevote(2, 3, 1, None)
    ev1, ev2 = DoubleSign.of(a, b), DoubleSign.of(b, a)
    assert ev1 == ev2 and ev1.encode() == ev2.encode() and ev1.id == ev2.id
    assert (ev1.validator, ev1.height, ev1.round, ev1.step) == (KEYS[2].key_id, 3, 1, "prevote")
    ev1.verify(VS)
    assert decode(ev1.encode())["type"] == "double_sign"
    assert DoubleSign.decode(ev1.encode(), CHAIN) == ev1


def test_conflicting_proposals_are_evidence_without_payloads():
    h, r = 1, 0  # proposer of (1, 0) is validator 1
    ev = DoubleSign.of(proposal(1, h, r, value("a")), proposal(1, h, r, value("b")))
    ev.verify(VS)
    assert ev.a.payload is None and ev.b.payload is None
    assert DoubleSign.decode(ev.encode(), CHAIN) == ev


@pytest.mark.parametrize(
    "pair, code",
    [
        ((prevote(1, 1, 0, value("a")), prevote(1, 1, 0, value("a"))), "same_message"),
        ((prevote(1, 1, 0, value("a")), prevote(2, 1, 0, value("b"))), "two_signers"),
        ((prevote(1, 1, 0, value("a")), prevote(1, 1, 1, value("b"))), "different_position"),
        ((prevote(1, 1, 0, value("a")), precommit(1, 1, 0, value("b"))), "different_position"),
        ((prevote(1, 2, 0, value("a")), prevote(1, 1, 0, value("b"))), "different_position"),
    ],
)
def test_pairs_that_prove_nothing_are_refused(pair, code):
    with pytest.raises(EvidenceError) as info:
        DoubleSign.of(*pair)
    assert info.value.code == code


def test_verify_checks_signatures_and_membership():
    a, b = prevote(1, 1, 0, value("a")), prevote(1, 1, 0, value("b"))
    forged = DoubleSign.of(a, Signed(b.chain_id, b.body, b.validator, bytes(64)))
    with pytest.raises(EvidenceError) as info:
        forged.verify(VS)
    assert info.value.code == "bad_signature"
    others = ValidatorSet([k.public_raw for k in KEYS[2:]])
    with pytest.raises(EvidenceError) as info:
        DoubleSign.of(a, b).verify(others)
    assert info.value.code == "unknown_validator"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        canonical({"type": "double_sign", "a": 1, "b": 2}),
        canonical({"type": "other", "a": {}, "b": {}}),
        b'{"a":1, "b":2,"type":"double_sign"}',
    ],
)
def test_decode_rejects_garbage(data):
    with pytest.raises(EvidenceError):
        DoubleSign.decode(data, CHAIN)


def test_decode_rejects_non_canonical_order_and_wrong_chain():
    ev = DoubleSign.of(prevote(1, 1, 0, value("a")), prevote(1, 1, 0, value("b")))
    swapped = canonical({"type": "double_sign", "a": ev.b.to_wire(), "b": ev.a.to_wire()})
    with pytest.raises(EvidenceError) as info:
        DoubleSign.decode(swapped, CHAIN)
    assert info.value.code == "not_canonical"
    with pytest.raises(EvidenceError) as info:
        DoubleSign.decode(ev.encode(), "another-chain")
    assert info.value.code == "wrong_chain"


def test_pool_keeps_one_entry_per_offence_and_is_bounded():
    pool = EvidencePool(max_items=2)
    e1 = DoubleSign.of(prevote(1, 1, 0, value("a")), prevote(1, 1, 0, value("b")))
    e1b = DoubleSign.of(prevote(1, 1, 0, value("a")), prevote(1, 1, 0, None))
    e2 = DoubleSign.of(precommit(1, 1, 0, value("a")), precommit(1, 1, 0, None))
    e3 = DoubleSign.of(prevote(2, 1, 0, value("a")), prevote(2, 1, 0, None))
    assert pool.add(e1) and not pool.add(e1b)
    assert pool.add(e2) and pool.add(e3)
    assert len(pool) == 2 and list(pool) == [e2, e3]
    assert pool.by_validator(KEYS[2].key_id) == [e3]
