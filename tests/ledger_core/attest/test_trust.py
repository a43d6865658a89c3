"""Trust evaluation: the subjective-logic numbers, the rules of docs/design.md section 6, determinism."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_core.attest.trust import PPM, Rating, TrustBook, TrustParams, decay_ppm

P = TrustParams(base_rate_ppm=500_000, half_life_blocks=100, org_cap_ppm=1_000_000)


def test_newcomer_is_fully_uncertain():
    op = TrustBook([], P, 10).opinion("nobody")
    assert (op.belief_ppm, op.disbelief_ppm, op.uncertainty_ppm) == (0, 0, PPM)
    assert op.expected_ppm == P.base_rate_ppm


def test_one_full_positive_rating_by_a_newcomer():
    # weight 0.5 (base rate) -> r = 0.5, s = 0: b = 0.5/2.5 = 0.2, u = 0.8, E = 0.2 + 0.5*0.8
    op = TrustBook([Rating("k1", "OrgA", "subj", 100, 10)], P, 10).opinion("subj")
    assert (op.belief_ppm, op.disbelief_ppm, op.uncertainty_ppm) == (200_000, 0, 800_000)
    assert op.expected_ppm == 600_000
    assert op.contributions[0].weight_ppm == 500_000


def test_negative_ratings_lower_trust_below_base_rate():
    ratings = [Rating(f"k{i}", f"Org{i}", "subj", 0, 10) for i in range(4)]
    op = TrustBook(ratings, P, 10).opinion("subj")
    assert op.expected_ppm < P.base_rate_ppm and op.disbelief_ppm > 0 and op.belief_ppm == 0


def test_self_ratings_are_ignored():
    owners = {"cert-1": ("k1", "OrgA")}
    ratings = [
        Rating("k1", "OrgA", "k1", 100, 1),  # itself
        Rating("k1", "OrgA", "OrgA", 100, 1),  # its organisation
        Rating("k1", "OrgA", "cert-1", 100, 1),  # what it issued
    ]
    book = TrustBook(ratings, P, 1, owners)
    assert book.ratings == []
    assert book.opinion("cert-1").expected_ppm == P.base_rate_ppm


def test_latest_rating_replaces_earlier():
    ratings = [Rating("k1", "OrgA", "s", 100, 5), Rating("k1", "OrgA", "s", 0, 6)]
    op = TrustBook(ratings, P, 6).opinion("s")
    assert len(op.contributions) == 1 and op.contributions[0].score == 0
    same_height = [Rating("k1", "OrgA", "s", 0, 6, seq=1), Rating("k1", "OrgA", "s", 100, 6, seq=2)]
    assert TrustBook(same_height, P, 6).opinion("s").contributions[0].score == 100


def test_colluding_organisation_is_capped():
    colluders = [Rating(f"c{i}", "Cartel", "rival", 0, 10) for i in range(20)]
    honest = [Rating("h1", "Honest1", "rival", 100, 10), Rating("h2", "Honest2", "rival", 100, 10)]
    capped = TrustParams(base_rate_ppm=500_000, half_life_blocks=100, org_cap_ppm=500_000)
    book = TrustBook(colluders + honest, capped, 10)
    op = book.opinion("rival")
    cartel_weight = sum(c.weight_ppm for c in op.contributions if c.rater_org == "Cartel")
    assert cartel_weight <= capped.org_cap_ppm
    # twenty colluders weigh no more than one honest organisation: the honest ratings win
    assert op.belief_ppm > op.disbelief_ppm
    uncapped = TrustParams(base_rate_ppm=500_000, half_life_blocks=100, org_cap_ppm=10**9)
    assert TrustBook(colluders + honest, uncapped, 10).opinion("rival").expected_ppm < op.expected_ppm


def test_rater_weight_is_its_own_trust():
    # k_bad is rated down by two others: its rating then counts less than a newcomer's
    base = [Rating("x1", "X1", "k_bad", 0, 1), Rating("x2", "X2", "k_bad", 0, 1)]
    book = TrustBook(base + [Rating("k_bad", "B", "s", 0, 1)], P, 1)
    assert book.weights["k_bad"] < P.base_rate_ppm
    newcomer = TrustBook([Rating("k_new", "N", "s", 0, 1)], P, 1).opinion("s")
    assert book.opinion("s").disbelief_ppm < newcomer.disbelief_ppm


def test_old_evidence_decays():
    r = [Rating("k1", "OrgA", "s", 100, 0)]
    fresh = TrustBook(r, P, 0).opinion("s")
    old = TrustBook(r, P, 100).opinion("s")
    ancient = TrustBook(r, P, 10_000).opinion("s")
    assert fresh.belief_ppm > old.belief_ppm > ancient.belief_ppm
    assert old.contributions[0].decay_ppm == PPM // 2
    assert ancient.expected_ppm == P.base_rate_ppm


def test_decay_points():
    assert decay_ppm(0, 100) == PPM
    assert decay_ppm(50, 100) == 750_000
    assert decay_ppm(100, 100) == 500_000
    assert decay_ppm(200, 100) == 250_000
    assert decay_ppm(-5, 100) == PPM


@given(st.integers(0, 10**7), st.integers(0, 10**4), st.integers(1, 10**5))
def test_decay_is_monotone(age, step, half_life):
    assert 0 <= decay_ppm(age + step, half_life) <= decay_ppm(age, half_life) <= PPM


def test_bad_parameters_refused():
    with pytest.raises(ValueError):
        TrustParams(half_life_blocks=0)
    with pytest.raises(ValueError):
        Rating("a", "A", "s", 101, 0)


ratings_strategy = st.lists(
    st.builds(
        Rating,
        rater=st.sampled_from([f"k{i}" for i in range(6)]),
        rater_org=st.sampled_from(["A", "B", "C"]),
        subject=st.sampled_from(["k0", "k1", "k2", "s1", "s2", "A"]),
        score=st.integers(0, 100),
        height=st.integers(0, 500),
        seq=st.integers(0, 3),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(ratings_strategy, st.randoms(use_true_random=False))
def test_opinions_are_exact_and_order_independent(ratings, rnd: random.Random):
    book = TrustBook(ratings, P, 600)
    shuffled = list(ratings)
    rnd.shuffle(shuffled)
    again = TrustBook(shuffled, P, 600)
    for subject in ("k0", "k1", "s1", "s2", "A", "none"):
        a, b = book.opinion(subject), again.opinion(subject)
        assert a == b
        assert a.belief_ppm + a.disbelief_ppm + a.uncertainty_ppm == PPM
        assert min(a.belief_ppm, a.disbelief_ppm, a.uncertainty_ppm) >= 0
        assert 0 <= a.expected_ppm <= PPM
        assert a.belief_ppm <= a.expected_ppm <= a.belief_ppm + a.uncertainty_ppm
