"""Property test: any sequence of validly signed messages from the other validators and of
timeouts never crashes the state machine, never makes it sign two different messages for
one height/round/step, and every decision carries a quorum of matching precommits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_core.consensus import (
    PRECOMMIT,
    PREVOTE,
    PROPOSE,
    Broadcast,
    Decide,
    ScheduleTimeout,
)
from tests.support.consensus_util import (
    VS,
    bad_value,
    machine,
    precommit,
    prevote,
    proposal,
    proposer_of,
    value,
)

VALUES = [value("a"), value("b"), bad_value(), None]

event = st.one_of(
    st.tuples(st.just("proposal"), st.integers(0, 3), st.integers(-1, 2), st.integers(0, 2)),
    st.tuples(
        st.sampled_from(["prevote", "precommit"]),
        st.integers(1, 3),
        st.integers(0, 3),
        st.integers(0, 3),
    ),
    st.tuples(
        st.just("timeout"),
        st.sampled_from([PROPOSE, PREVOTE, PRECOMMIT]),
        st.integers(0, 3),
        st.just(0),
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(event, max_size=60))
def test_random_message_sequences(events):
    sm = machine(0)
    outs = list(sm.start_height(1))
    for kind, a, b, c in events:
        if sm.step == "commit":
            break
        if kind == "proposal":
            r, vr = a, min(b, a - 1)
            v = VALUES[c] if VALUES[c] is not None else value("c")
            msgs = [proposal(proposer_of(1, r), 1, r, v, vr)]
        elif kind == "timeout":
            outs += sm.on_timeout(ScheduleTimeout(1, b, a, 0))
            continue
        else:
            maker = prevote if kind == "prevote" else precommit
            msgs = [maker(a, 1, b, VALUES[c])]
        for m in msgs:
            outs += sm.on_message(m)
    mine: dict[tuple[int, int, str], object] = {}
    for o in outs:
        if isinstance(o, Broadcast):
            m = o.message
            key = (m.height, m.round, m.type)
            assert mine.setdefault(key, m.body) == m.body, f"equivocated at {key}"
    for d in (o for o in outs if isinstance(o, Decide)):
        assert len({v.validator for v in d.commit}) >= VS.quorum
        assert all(v.block_id == d.value.block_id and v.round == d.round for v in d.commit)
        assert d.value.payload is not None and d.value != bad_value()
