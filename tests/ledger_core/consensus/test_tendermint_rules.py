"""Focused tests of each rule of Algorithm 1, driving one state machine (validator 0 of 4)
by hand. At height 1 the proposers of rounds 0, 1, 2, 3 are validators 1, 2, 3, 0."""

from __future__ import annotations

import pytest

from ledger_core.consensus import (
    COMMIT,
    PRECOMMIT,
    PREVOTE,
    PROPOSE,
    Broadcast,
    Decide,
    EvidenceFound,
    MemoryStore,
    MessageError,
    ScheduleTimeout,
    Signed,
)
from ledger_core.consensus.messages import sign
from ledger_core.crypto.domains import DOMAIN_VOTE, signing_bytes
from ledger_core.crypto.keys import KeyPair, verify_raw
from tests.support.consensus_util import (
    CHAIN,
    KEYS,
    TIMEOUTS,
    VS,
    bad_value,
    machine,
    precommit,
    prevote,
    proposal,
    value,
)


def sent(outs) -> list[Signed]:
    return [o.message for o in outs if isinstance(o, Broadcast)]


def timers(outs) -> list[ScheduleTimeout]:
    return [o for o in outs if isinstance(o, ScheduleTimeout)]


def decisions(outs) -> list[Decide]:
    return [o for o in outs if isinstance(o, Decide)]


def feed(sm, *msgs):
    outs = []
    for m in msgs:
        outs += sm.on_message(m)
    return outs


def only_vote(outs, kind: str):
    votes = [m for m in sent(outs) if m.type == kind]
    assert len(votes) == 1, votes
    return votes[0]


def test_start_as_non_proposer_waits_with_a_propose_timeout():
    sm = machine(0)
    outs = sm.start_height(1)
    assert sent(outs) == []
    assert timers(outs) == [ScheduleTimeout(1, 0, PROPOSE, TIMEOUTS.propose_ms)]
    assert (sm.height, sm.round, sm.step) == (1, 0, PROPOSE)


def test_proposer_proposes_get_value_and_prevotes_it():
    sm = machine(1)
    outs = sm.start_height(1)
    prop = sent(outs)[0]
    assert prop.type == "proposal" and prop.body.valid_round == -1
    assert prop.payload == {"tag": "from-1-at-1"}
    assert prop.block_id == value("from-1-at-1").block_id
    # its own proposal is counted at once: line 22 fires and it prevotes it
    assert only_vote(outs, PREVOTE).block_id == prop.block_id
    assert sm.step == PREVOTE


def test_line22_prevotes_a_valid_proposal_and_nil_for_an_invalid_one():
    v = value("v")
    sm = machine(0)
    sm.start_height(1)
    assert only_vote(feed(sm, proposal(1, 1, 0, v)), PREVOTE).block_id == v.block_id
    sm2 = machine(0)
    sm2.start_height(1)
    assert only_vote(feed(sm2, proposal(1, 1, 0, bad_value())), PREVOTE).block_id is None
    assert sm2.step == PREVOTE


def test_proposal_from_a_non_proposer_is_refused():
    sm = machine(0)
    sm.start_height(1)
    with pytest.raises(MessageError) as info:
        sm.on_message(proposal(2, 1, 0, value("v")))
    assert info.value.code == "not_proposer"


def test_timeouts_grow_with_the_round():
    assert [TIMEOUTS.for_step(PROPOSE, r) for r in range(3)] == [100, 110, 120]
    assert [TIMEOUTS.for_step(PREVOTE, r) for r in range(3)] == [50, 55, 60]
    assert [TIMEOUTS.for_step(PRECOMMIT, r) for r in range(3)] == [60, 66, 72]
    sm = machine(0)
    sm.start_height(1)
    # nil everywhere: timeout propose -> prevote nil; 2f+1 prevotes -> prevote timeout ...
    outs = sm.on_timeout(ScheduleTimeout(1, 0, PROPOSE, 100))
    assert only_vote(outs, PREVOTE).block_id is None
    outs = feed(sm, prevote(1, 1, 0, None), prevote(2, 1, 0, value("x")))
    assert timers(outs) == [ScheduleTimeout(1, 0, PREVOTE, 50)]  # line 34
    outs = sm.on_timeout(timers(outs)[0])  # line 61
    assert only_vote(outs, PRECOMMIT).block_id is None
    outs = feed(sm, precommit(1, 1, 0, None), precommit(2, 1, 0, value("x")))
    assert timers(outs) == [ScheduleTimeout(1, 0, PRECOMMIT, 60)]  # line 47
    outs = sm.on_timeout(timers(outs)[0])  # line 65
    assert (sm.round, sm.step) == (1, PROPOSE)
    assert timers(outs) == [ScheduleTimeout(1, 1, PROPOSE, 110)]


def test_stale_timeouts_are_ignored():
    sm = machine(0)
    sm.start_height(1)
    feed(sm, proposal(1, 1, 0, value("v")))
    assert sm.step == PREVOTE
    assert sm.on_timeout(ScheduleTimeout(1, 0, PROPOSE, 100)) == []
    assert sm.on_timeout(ScheduleTimeout(1, 5, PRECOMMIT, 100)) == []
    assert sm.round == 0


def test_line44_quorum_of_nil_prevotes_gives_a_nil_precommit():
    sm = machine(0)
    sm.start_height(1)
    feed(sm, proposal(1, 1, 0, value("v")))  # prevotes v
    outs = feed(sm, prevote(1, 1, 0, None), prevote(2, 1, 0, None))
    assert sent(outs) == [] and len(timers(outs)) == 1  # 2 nil + 1 v: only line 34
    outs = feed(sm, prevote(3, 1, 0, None))
    assert only_vote(outs, PRECOMMIT).block_id is None
    sm2 = machine(0)
    sm2.start_height(1)
    sm2.on_timeout(ScheduleTimeout(1, 0, PROPOSE, 100))
    outs = feed(sm2, prevote(1, 1, 0, None), prevote(2, 1, 0, None))
    assert only_vote(outs, PRECOMMIT).block_id is None
    assert sm2.step == PRECOMMIT and sm2.locked_round == -1


def test_line36_locks_and_precommits_on_a_prevote_quorum():
    v = value("v")
    sm = machine(0)
    sm.start_height(1)
    feed(sm, proposal(1, 1, 0, v))
    outs = feed(sm, prevote(1, 1, 0, v), prevote(2, 1, 0, v))
    assert only_vote(outs, PRECOMMIT).block_id == v.block_id
    assert (sm.locked_round, sm.locked_id) == (0, v.block_id)
    assert (sm.valid_round, sm.valid_value) == (0, v)


def test_line36_in_precommit_step_updates_valid_value_but_not_the_lock():
    v = value("v")
    sm = machine(0)
    sm.start_height(1)
    sm.on_timeout(ScheduleTimeout(1, 0, PROPOSE, 100))  # prevote nil
    feed(sm, prevote(1, 1, 0, None), prevote(2, 1, 0, None))  # -> precommit nil
    assert sm.step == PRECOMMIT
    outs = feed(sm, proposal(1, 1, 0, v), prevote(3, 1, 0, v), prevote(1, 1, 0, v))
    assert [m for m in sent(outs)] == []
    assert sm.locked_round == -1
    # 1's second prevote (for v after nil) is a double vote: reported, and counted for v
    assert any(isinstance(o, EvidenceFound) for o in outs)


def lock_on(sm, v, r: int = 0):
    """Bring validator 0 at height 1 to a lock on v in round r (proposer of r is r+1)."""
    feed(sm, proposal((1 + r) % 4, 1, r, v))
    feed(sm, prevote(1, 1, r, v), prevote(2, 1, r, v))
    assert (sm.locked_round, sm.locked_id) == (r, v.block_id)


def next_round(sm):
    r = sm.round
    feed(sm, precommit(1, 1, r, None), precommit(2, 1, r, None))
    sm.on_timeout(ScheduleTimeout(1, r, PRECOMMIT, 0))
    assert sm.round == r + 1


def test_a_locked_validator_prevotes_nil_for_another_value():
    v, w = value("v"), value("w")
    sm = machine(0)
    sm.start_height(1)
    lock_on(sm, v)
    next_round(sm)
    outs = feed(sm, proposal(2, 1, 1, w))
    assert only_vote(outs, PREVOTE).block_id is None
    # but the value it is locked on gets its prevote again
    sm2 = machine(0)
    sm2.start_height(1)
    lock_on(sm2, v)
    next_round(sm2)
    assert only_vote(feed(sm2, proposal(2, 1, 1, v)), PREVOTE).block_id == v.block_id


def test_unlock_by_a_proposal_with_a_higher_valid_round():
    v, w = value("v"), value("w")
    sm = machine(0)
    sm.start_height(1)
    lock_on(sm, v)  # locked in round 0
    feed(sm, prevote(2, 1, 2, None), prevote(3, 1, 2, None))  # f+1 in round 2: skip round 1
    assert sm.round == 2 and sm.locked_round == 0
    # the POL for w of round 1, which it missed, arrives late; then w is proposed with vr=1
    feed(sm, prevote(1, 1, 1, w), prevote(2, 1, 1, w), prevote(3, 1, 1, w))
    outs = feed(sm, proposal(3, 1, 2, w, vr=1))  # line 28: lockedRound 0 <= vr 1
    assert only_vote(outs, PREVOTE).block_id == w.block_id


def test_no_unlock_without_the_prevote_quorum_or_with_a_lower_valid_round():
    v, w = value("v"), value("w")
    sm = machine(0)
    sm.start_height(1)
    next_round(sm)  # round 0 fails
    lock_on(sm, v, r=1)  # locked in round 1
    next_round(sm)
    # proposal of w with vr=1 but only two prevotes for w in round 1: line 28 not enabled
    assert sent(feed(sm, proposal(3, 1, 2, w, vr=1))) == []
    assert sm.step == PROPOSE
    # a POL for w in round 0 exists, but vr=0 < lockedRound=1 and w != v: prevote nil
    sm2 = machine(0)
    sm2.start_height(1)
    feed(sm2, prevote(1, 1, 0, w), prevote(2, 1, 0, w), prevote(3, 1, 0, w))
    sm2.on_timeout(ScheduleTimeout(1, 0, PROPOSE, 0))
    sm2.on_timeout(ScheduleTimeout(1, 0, PREVOTE, 0))
    next_round(sm2)
    lock_on(sm2, v, r=1)
    next_round(sm2)
    outs = feed(sm2, proposal(3, 1, 2, w, vr=0))
    assert only_vote(outs, PREVOTE).block_id is None


def test_f_plus_one_messages_of_a_higher_round_skip_to_it():
    sm = machine(0)
    sm.start_height(1)
    assert feed(sm, prevote(1, 1, 5, None)) == [] and sm.round == 0  # f = 1 message: no skip
    outs = feed(sm, precommit(2, 1, 5, None))  # f+1 = 2 distinct senders in round 5
    assert sm.round == 5 and sm.step == PROPOSE
    assert ScheduleTimeout(1, 5, PROPOSE, TIMEOUTS.for_step(PROPOSE, 5)) in timers(outs)


def test_round_skip_counts_distinct_senders_only():
    sm = machine(0)
    sm.start_height(1)
    feed(sm, prevote(1, 1, 3, None), precommit(1, 1, 3, None))
    assert sm.round == 0


def test_proposer_reproposes_its_valid_value_with_its_valid_round():
    v = value("v")
    sm = machine(0)
    sm.start_height(1)
    lock_on(sm, v)  # valid value v, valid round 0
    for _ in range(3):
        next_round(sm)
    # round 3: validator 0 proposes
    prop = [m for m in sm.gossip_messages() if m.type == "proposal" and m.round == 3]
    assert len(prop) == 1 and prop[0].block_id == v.block_id and prop[0].body.valid_round == 0


def test_decide_on_proposal_and_quorum_of_precommits():
    v = value("v")
    sm = machine(0)
    sm.start_height(1)
    lock_on(sm, v)
    outs = feed(sm, precommit(1, 1, 0, v), precommit(3, 1, 0, v))
    (d,) = decisions(outs)
    assert (d.height, d.round, d.value) == (1, 0, v)
    assert sm.step == COMMIT
    assert {m.validator for m in d.commit} == {KEYS[i].key_id for i in (0, 1, 3)}
    for m in d.commit:  # what the ledger stores: exactly this body, signed
        body = {"type": "precommit", "height": 1, "round": 0, "block_id": v.block_id}
        assert verify_raw(
            VS.public_key(m.validator), m.signature, signing_bytes(DOMAIN_VOTE, CHAIN, body)
        )
    assert feed(sm, precommit(2, 1, 0, v)) == []  # after the decision: nothing more


def test_decide_with_late_precommits_of_an_earlier_round():
    v = value("v")
    sm = machine(0)
    sm.start_height(1)
    feed(sm, prevote(2, 1, 2, None), prevote(3, 1, 2, None))
    assert sm.round == 2
    # the precommits of round 0 arrive late, before the round-0 proposal
    assert (
        decisions(feed(sm, precommit(1, 1, 0, v), precommit(2, 1, 0, v), precommit(3, 1, 0, v)))
        == []
    )
    (d,) = decisions(feed(sm, proposal(1, 1, 0, v)))
    assert (d.round, d.value) == (0, v)


def test_no_decision_on_an_invalid_value():
    v = bad_value()
    sm = machine(0)
    sm.start_height(1)
    outs = feed(sm, proposal(1, 1, 0, v), *(precommit(i, 1, 0, v) for i in (1, 2, 3)))
    assert decisions(outs) == []


def test_start_height_buffers_messages_of_the_next_height():
    v = value("v")
    sm = machine(0)
    sm.start_height(1)
    # height 2 arrives early; proposer of (2, 0) is validator 2
    assert feed(sm, proposal(2, 2, 0, v), prevote(1, 2, 0, v), prevote(2, 2, 0, v)) == []
    feed(sm, proposal(1, 1, 0, value("a")), *(precommit(i, 1, 0, value("a")) for i in (1, 2, 3)))
    assert sm.step == COMMIT
    outs = sm.start_height(2)
    # replayed: it prevoted v, saw the quorum, locked and precommitted
    assert only_vote(outs, PRECOMMIT).block_id == v.block_id
    with pytest.raises(ValueError):
        sm.start_height(2)


def test_bad_messages_are_refused_with_a_reason():
    sm = machine(0)
    sm.start_height(1)
    v = prevote(1, 1, 0, value("v"))
    forged = Signed(v.chain_id, v.body, v.validator, bytes(64))
    with pytest.raises(MessageError) as info:
        sm.on_message(forged)
    assert info.value.code == "bad_signature"
    stranger = KeyPair.from_seed(bytes(32))
    with pytest.raises(MessageError) as info:
        sm.on_message(sign(CHAIN, v.body, stranger.key_id, stranger.sign))
    assert info.value.code == "unknown_validator"
    with pytest.raises(MessageError) as info:
        sm.on_message(sign("other", v.body, KEYS[1].key_id, KEYS[1].sign))
    assert info.value.code == "wrong_chain"
    assert sm.on_message(prevote(1, 0, 0, None)) == []  # an old height is ignored
    assert sm.on_bytes(v.encode()) == []  # the valid one counts
    assert sm.on_bytes(v.encode()) == []  # a duplicate does nothing


def test_double_votes_are_reported_once_as_evidence():
    sm = machine(0)
    sm.start_height(1)
    a, b = prevote(2, 1, 0, value("a")), prevote(2, 1, 0, value("b"))
    outs = feed(sm, a, b)
    (ev,) = [o.evidence for o in outs if isinstance(o, EvidenceFound)]
    assert {ev.a, ev.b} == {a, b}
    assert [o for o in feed(sm, prevote(2, 1, 0, None)) if isinstance(o, EvidenceFound)] == []


def test_equivocating_proposer_both_proposals_kept_and_the_decided_one_wins():
    v, w = value("v"), value("w")
    sm = machine(0)
    sm.start_height(1)
    outs = feed(sm, proposal(1, 1, 0, v), proposal(1, 1, 0, w))
    assert any(isinstance(o, EvidenceFound) for o in outs)
    assert only_vote(outs, PREVOTE).block_id == v.block_id  # the first one it saw
    (d,) = decisions(feed(sm, *(precommit(i, 1, 0, w) for i in (1, 2, 3))))
    assert d.value == w


def test_restart_resumes_round_and_lock_and_never_equivocates():
    v, w = value("v"), value("w")
    disk = MemoryStore()
    sm = machine(0, disk)
    sm.start_height(1)
    lock_on(sm, v)
    next_round(sm)
    # crash; a new machine from the same signer state
    sm2 = machine(0, disk)
    outs = sm2.start_height(1)
    # it last signed in round 0: it resumes there, locked
    assert sm2.round == 0 and (sm2.locked_round, sm2.locked_id) == (0, v.block_id)
    assert sm2.valid_value == v  # the locked payload was kept
    next_round(sm2)
    # still locked: a new value in round 1 gets nil
    assert only_vote(feed(sm2, proposal(2, 1, 1, w)), PREVOTE).block_id is None
    # its precommit of round 0 (signed before the crash) is known and re-gossiped
    mine = [m for m in sm2.gossip_messages() if m.validator == KEYS[0].key_id]
    assert any(m.type == PRECOMMIT and m.round == 0 and m.block_id == v.block_id for m in mine)
    # and the proof of lock came back with it
    pol = [
        m
        for m in sm2.gossip_messages()
        if m.type == PREVOTE and m.round == 0 and m.block_id == v.block_id
    ]
    assert len(pol) >= VS.quorum
    del outs


def test_after_a_crash_a_different_vote_at_the_same_step_is_not_signed():
    disk = MemoryStore()
    sm = machine(0, disk)
    sm.start_height(1)
    feed(sm, proposal(1, 1, 0, value("v")))  # prevote v at (1, 0)
    sm2 = machine(0, disk)
    outs = sm2.start_height(1)
    assert sm2.round == 0
    # the proposal is lost; the propose timeout would prevote nil: it re-sends v instead
    outs = sm2.on_timeout(ScheduleTimeout(1, 0, PROPOSE, 0))
    assert only_vote(outs, PREVOTE).block_id == value("v").block_id


def test_a_full_node_without_signer_decides_but_never_votes():
    from ledger_core.consensus import Tendermint
    from tests.support.consensus_util import valid

    v = value("v")
    sm = Tendermint(CHAIN, VS, None, lambda h: value("x"), valid, TIMEOUTS)
    outs = sm.start_height(1)
    outs += feed(sm, proposal(1, 1, 0, v), *(prevote(i, 1, 0, v) for i in (1, 2, 3)))
    outs += sm.on_timeout(ScheduleTimeout(1, 0, PROPOSE, 0))
    (d,) = decisions(outs + feed(sm, *(precommit(i, 1, 0, v) for i in (1, 2, 3))))
    assert d.value == v and sent(outs) == []


def test_a_new_validator_set_takes_over_at_start_height():
    from ledger_core.consensus import ValidatorSet

    v = value("v")
    sm = machine(0)
    sm.start_height(1)
    feed(sm, proposal(1, 1, 0, v), *(precommit(i, 1, 0, v) for i in (1, 2, 3)))
    assert sm.step == COMMIT
    new = ValidatorSet([KEYS[i].public_raw for i in (0, 1, 2)])  # validator 3 leaves
    sm.start_height(2, new)
    assert sm.validators.quorum == 3 and sm.validators.proposer(2, 0) == KEYS[2].key_id
    with pytest.raises(MessageError) as info:
        sm.on_message(prevote(3, 2, 0, None))
    assert info.value.code == "unknown_validator"
