"""The ban book: thresholds, decay, doubling bans, bounded memory (pure, with explicit clocks)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_core.net.peer_score import (
    BAN_BASE_S,
    BAN_MAX_S,
    BAN_THRESHOLD,
    FATAL,
    MINOR,
    OFFENCE_MEMORY_S,
    SERIOUS,
    BanBook,
    BanInfo,
)

K1, K2, K3 = "a" * 64, "b" * 64, "c" * 64
WALL = 1_700_000_000.0


def test_the_constants() -> None:
    assert (MINOR, SERIOUS, FATAL, BAN_THRESHOLD) == (10, 60, 100, 100)
    assert (BAN_BASE_S, BAN_MAX_S) == (60, 3600)


def test_a_fatal_offence_bans_at_once_and_the_ban_ends() -> None:
    book = BanBook()
    ban = book.penalize(K1, "bad_block", FATAL, now=5.0, wall=WALL, detail="height 7")
    assert ban == BanInfo(K1, "bad_block", "height 7", WALL, WALL + 60, 1)
    assert book.is_banned(K1, 5.0) and book.is_banned(K1, 64.9)
    assert book.ban_of(K1, 30.0) == ban and book.bans(30.0) == [ban]
    assert book.ban_remaining(K1, 35.0) == pytest.approx(30.0)
    assert not book.is_banned(K2, 30.0)
    assert not book.is_banned(K1, 65.0) and book.bans(65.0) == [] and book.ban_of(K1, 65.0) is None
    assert book.ban_remaining(K1, 65.0) == 0.0


def test_penalties_while_banned_change_nothing() -> None:
    book = BanBook()
    ban = book.penalize(K1, "rate_limited", FATAL, now=0.0, wall=WALL)
    assert book.penalize(K1, "bad_block", FATAL, now=1.0, wall=WALL + 1) is None
    assert book.bans(2.0) == [ban]


def test_serious_twice_bans_but_decay_forgives_rare_mistakes() -> None:
    book = BanBook()
    assert book.penalize(K1, "bad_vote", SERIOUS, now=0.0, wall=WALL) is None
    assert book.score(K1, 25.0) == pytest.approx(35.0)  # 1 point per second
    assert book.penalize(K1, "bad_vote", SERIOUS, now=25.0, wall=WALL) is None  # 95 < 100
    assert book.penalize(K1, "bad_vote", MINOR, now=25.0, wall=WALL) is not None  # 105
    # two SERIOUS offences within 20 s ban
    assert book.penalize(K3, "bad_vote", SERIOUS, now=0.0, wall=WALL) is None
    assert book.penalize(K3, "bad_vote", SERIOUS, now=20.0, wall=WALL) is not None
    # A minor mistake every 11 s never adds up to a ban.
    for i in range(1000):
        assert book.penalize(K2, "late", MINOR, now=11.0 * i, wall=WALL) is None
    assert book.score(K2, 11_000.0) == 0.0


def test_repeat_offences_double_the_ban_up_to_the_cap() -> None:
    book = BanBook()
    now, lengths = 0.0, []
    for _ in range(9):
        ban = book.penalize(K1, "bad_block", FATAL, now=now, wall=WALL + now)
        assert ban is not None
        lengths.append(ban.until - ban.since)
        now += ban.until - ban.since  # re-offends as soon as the ban ends
    assert lengths == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert ban.offences == 9


def test_offences_are_forgotten_after_a_long_clean_period() -> None:
    book = BanBook()
    book.penalize(K1, "bad_block", FATAL, now=0.0, wall=WALL)
    later = 60.0 + OFFENCE_MEMORY_S + 1
    ban = book.penalize(K1, "bad_block", FATAL, now=later, wall=WALL + later)
    assert ban is not None and ban.offences == 1 and ban.until - ban.since == 60


def test_memory_is_bounded_and_bans_are_never_forgotten() -> None:
    book = BanBook(max_tracked=3)
    book.penalize("banned", "bad_block", FATAL, now=0.0, wall=WALL)
    book.penalize("high", "x", SERIOUS, now=0.0, wall=WALL)
    book.penalize("low", "x", MINOR, now=0.0, wall=WALL)
    book.penalize("new", "x", SERIOUS, now=1.0, wall=WALL)
    assert len(book) == 3
    assert book.score("low", 1.0) == 0.0 and book.score("high", 1.0) > 0
    assert book.is_banned("banned", 1.0)
    full = BanBook(max_tracked=1)
    full.penalize("banned", "bad_block", FATAL, now=0.0, wall=WALL)
    assert full.penalize("other", "x", MINOR, now=1.0, wall=WALL) is None  # not worth keeping
    assert full.is_banned("banned", 1.0) and len(full) == 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        BanBook(ban_base_s=10, ban_max_s=5)
    with pytest.raises(ValueError):
        BanBook(max_tracked=0)
    with pytest.raises(ValueError):
        BanBook().penalize(K1, "x", -1, now=0.0, wall=WALL)


_events = st.lists(
    st.tuples(
        st.integers(0, 40),  # key
        st.sampled_from([MINOR, SERIOUS, FATAL]),
        st.floats(0, 200, allow_nan=False),  # seconds since the previous event
    ),
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(_events, st.integers(1, 16))
def test_property_bounded_and_bans_kept_until_they_end(events, max_tracked) -> None:
    book = BanBook(max_tracked=max_tracked)
    now = 0.0
    in_force: dict[str, float] = {}  # key -> monotonic end of its ban, as the test sees it
    for key, points, gap in events:
        now += gap
        kid = f"k{key}"
        ban = book.penalize(kid, "x", points, now=now, wall=WALL + now)
        if ban is not None:
            assert kid not in in_force or in_force[kid] <= now
            assert BAN_BASE_S <= ban.until - ban.since <= BAN_MAX_S
            in_force[kid] = now + (ban.until - ban.since)
        banned_now = sum(end > now for end in in_force.values())
        assert len(book) <= max(max_tracked, banned_now + 1)
        for k, end in in_force.items():
            assert book.is_banned(k, now) == (now < end)
        if points == FATAL and kid not in in_force:
            raise AssertionError("a fatal offence always bans (or the key is banned already)")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(MINOR / 1.0, 1000, allow_nan=False), max_size=200))
def test_property_spaced_minor_mistakes_never_ban(gaps) -> None:
    book = BanBook()
    now = 0.0
    for gap in gaps:  # at least MINOR seconds apart: decay takes back each one before the next
        now += gap
        assert book.penalize(K1, "late", MINOR, now=now, wall=WALL) is None
