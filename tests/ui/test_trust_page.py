"""The Trust perspective: opinions with bars, ratings with weights, trust over time, the rating
form pending until committed (and a refusal shown), screenshot."""

from __future__ import annotations

import pytest

from ledger_core.attest.proofs import Live
from tests.conftest import SCREENSHOTS
from tests.support.cert_world import T0, certify_all, trust_everyone, world
from ui.trust.page import BAR_ROLE, TrustPage


@pytest.fixture
def setup(qtbot, tmp_path):
    w = world(tmp_path)
    ids = certify_all(w)
    trust_everyone(w)
    w.rate("aud2", w.keys["trainer"].key_id, 10)
    sent = []

    def submit(payload, passphrase):
        if passphrase != "secret":
            raise ValueError("wrong passphrase")
        tx, code = w.submit("aud3", "rating.submit", payload)
        sent.append(payload)
        if code:
            raise ValueError(code)
        return tx.hash, w.chain.state.height

    def opener():
        return w.chain.store, w.chain.genesis, Live(w.get, w.tkeys, w.chain.state.height, T0 + 10)

    page = TrustPage(opener, submit)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()  # the first showing loads, on a worker
    qtbot.waitUntil(lambda: page.data is not None, timeout=10_000)
    yield w, ids, page, sent
    page.shutdown()


def _row(page, subject_id):
    return next(i for i, s in enumerate(page.subjects) if s["id"] == subject_id)


def test_opinions_ratings_history_and_form(qtbot, setup):
    w, ids, page, sent = setup
    trainer = w.keys["trainer"].key_id
    row = _row(page, trainer)
    b, d, u, e = page.table.item(row, 3).data(BAR_ROLE)
    assert b + d + u == 1_000_000 and d > 0 and b <= e <= b + u
    assert page.table.item(row, 2).text() == f"{e / 1_000_000:.3f}"
    # an unrated certificate: all uncertainty, its expected trust is its issuer's (the base rate)
    cert_row = _row(page, ids["dataset"])
    b, d, u, e = page.table.item(cert_row, 3).data(BAR_ROLE)
    issuer = page.tv.cert(ids["dataset"]).issuer_expected_ppm
    assert (b, d, u) == (0, 0, 1_000_000) and e == issuer
    assert "issuer's expected trust" in page.table.item(cert_row, 3).toolTip()
    page.table.setCurrentCell(row, 0)
    assert page.ratings.rowCount() == 2 and {page.ratings.item(i, 0).text() for i in range(2)} == {"aud2", "aud3"}
    qtbot.waitUntil(lambda: page.history is not None and page.history.subject == trainer, timeout=10_000)
    xs, ys = page.plot.expected.getData()
    assert xs[0] == 0 and ys[0] == 0.5 and len(xs) >= 3  # from base rate, up, then down
    assert max(ys) > ys[-1]
    page.grab().save(str(SCREENSHOTS / "trust.png"))
    # rate the model certificate: pending, then committed
    page.table.setCurrentCell(_row(page, ids["model"]), 0)
    page.score.setValue(95)
    page.start_rating(page.selected(), ids["model"], "secret")
    assert "pending" in page.rate_state.text()
    qtbot.waitUntil(lambda: page.worker is None, timeout=10_000)
    assert "committed at height" in page.rate_state.text() and sent[-1]["positive"] == 950
    # the page reloads once the rating is committed
    qtbot.waitUntil(lambda: page.data.height == w.chain.state.height, timeout=10_000)
    assert page.subjects[_row(page, ids["model"])]["op"].contributions[0].score == 95
    page.start_rating(page.selected(), ids["model"], "nope")
    qtbot.waitUntil(lambda: page.worker is None, timeout=10_000)
    assert page.rate_state.text() == "rating refused: wrong passphrase"
    # the ledger refuses a self-rating: shown, nothing crashes
    page.table.setCurrentCell(_row(page, w.keys["aud3"].key_id), 0)
    page.start_rating(page.selected(), ids["model"], "secret")
    qtbot.waitUntil(lambda: page.worker is None, timeout=10_000)
    assert page.rate_state.text() == "rating refused: self_rating"
