"""The Network perspective: its view model, and the page on a live 4-validator consortium
(peers appear; with two validators killed the banner says the chain cannot commit); peers the
node has banned are a banner and a table of warning rows, whatever shape the entries come in."""

from __future__ import annotations

import signal
import time

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication

from app.commands.cluster_procs import stop_all
from ledger_core.node.client import NodeClient
from tests.conftest import SCREENSHOTS
from tests.support.cluster import make_cluster, wait_heights
from ui.network.model import summarize
from ui.network.page import WARNING_ROW, NetworkPage
from ui.theme import apply_theme

K = [c * 64 for c in "abcd"]


def status(connected: list[str], votes: dict) -> dict:
    return {
        "chain_id": "c" * 64, "height": 7, "node_key": K[0], "role": "validator",
        "consensus": {"height": 8, "round": 1, "step": "prevote", "quorum": 3},
        "validator_set": [{"key_id": k, "org": f"org-{i}", "name": None} for i, k in enumerate(K)],
        "peers": [{"key_id": k, "org": "org-x", "host": "127.0.0.1", "port": 1, "rtt_us": 1500,
                   "height": 7} for k in connected],
        "last_votes": votes,
    }


def test_banner_counts_self_peers_and_recent_votes():
    v = summarize(status([K[1]], {}), now_ms=100_000)
    assert v.banner is not None and v.banner.startswith("2 of 4 validators online, 3 needed")
    assert [r.online for r in v.validators] == [True, True, False, False]
    assert v.peers[0].rtt == "1.5 ms" and "round 1" in v.consensus
    recent = {K[2]: {"type": "prevote", "height": 8, "round": 1, "block_id": None, "at_ms": 95_000}}
    v = summarize(status([K[1]], recent), now_ms=100_000)
    assert v.banner is None and "nil" in v.validators[2].last_vote
    stale = {K[2]: {**recent[K[2]], "at_ms": 10_000}}
    assert summarize(status([K[1]], stale), now_ms=100_000).banner is not None


def test_double_signing_is_a_banner_naming_the_validator():
    st = {**status([K[1], K[2], K[3]], {}), "double_signers": [K[2]]}
    v = summarize(st, now_ms=100_000)
    assert v.banner == (f"Double signing by org-2 ({K[2][:16]}): the evidence is in evidence.jsonl "
                        "and sent to the peers")
    both = summarize({**status([], {}), "double_signers": [K[2]]}, now_ms=100_000).banner
    assert both.startswith("1 of 4 validators online") and "\nDouble signing by" in both


def test_dev_node_status_has_no_network():
    v = summarize({"chain_id": "c" * 64, "height": 3, "node_key": K[0]}, now_ms=0)
    assert v.banner is None and not v.peers and "Dev chain" in v.summary


def test_page_shows_errors_without_raising(qtbot):
    def fail():
        raise LookupError("No node is running here")

    page = NetworkPage(fail, poll_ms=50)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: "No node" in page.summary.text(), timeout=5000)
    assert page.peers.rowCount() == 0 and page.banner.isHidden() and page.bans_box.isHidden()


NOW = 1_780_000_000_000  # 2026-05-28 20:26:40 UTC


def ban(key: str, **kw) -> dict:
    return {"key_id": key, "org": "Company 4", "name": "station-4", "reason": "bad_block",
            "detail": "commit at h12 has 2 of 4 signatures", "since_ms": NOW - 42_000,
            "until_ms": NOW + 600_000, "offences": 3, **kw}


def test_bans_are_rows_and_a_banner():
    v = summarize({**status([K[1], K[2]], {}), "bans": [ban(K[3])]}, now_ms=NOW)
    assert v.banner == "1 peer banned: Company 4 (bad_block)"
    (row,) = v.bans
    assert (row.org, row.key_id, row.offences) == ("Company 4", K[3][:16], "3")
    assert row.reason == "bad_block: sent an invalid block (commit at h12 has 2 of 4 signatures)"
    assert (row.since, row.until) == ("20:25:58 (42 s ago)", "20:36:40")
    older = ban(K[2], org=None, reason="rate_limited", detail="", since_ms=NOW - 7_200_000,
                until_ms=NOW + 86_400_000)
    v = summarize({**status([], {}), "bans": [older, ban(K[3])]}, now_ms=NOW)
    assert v.banner.splitlines() == [
        "1 of 4 validators online, 3 needed: the chain cannot commit",
        "2 peers banned: Company 4 (bad_block), station-4 (rate_limited)",
    ]
    assert [b.key_id for b in v.bans] == [K[3][:16], K[2][:16]]  # the latest first
    assert v.bans[1].reason == "rate_limited: sent too many messages"
    assert (v.bans[1].since, v.bans[1].until) == ("18:26:40 (2 h ago)", "2026-05-29 20:26:40")
    many = summarize({**status([K[1]], {}), "bans": [ban(k) for k in K]}, now_ms=NOW).banner
    assert many.endswith("4 peers banned: Company 4 (bad_block), Company 4 (bad_block), "
                         "Company 4 (bad_block) and 1 more")


def test_malformed_bans_show_question_marks():
    entries = [
        "not a ban",
        {},
        {"key_id": 7, "org": 3, "name": None, "reason": ["x"], "detail": None, "since_ms": "soon",
         "until_ms": float("nan"), "offences": True},
        ban(K[1], org=None, name=None, reason="new_code", detail="x" * 500, since_ms=NOW + 5_000,
            until_ms=10**30, offences=2.0),
    ]
    v = summarize({**status([K[1], K[2]], {}), "bans": entries}, now_ms=NOW)
    assert v.banner.splitlines() == [  # the banned validator no longer counts as online
        "2 of 4 validators online, 3 needed: the chain cannot commit",
        f"4 peers banned: {K[1][:16]} (new_code), ? (?), ? (?) and 1 more"]
    odd, *unreadable = v.bans
    assert (odd.org, odd.key_id, odd.until, odd.offences) == ("?", K[1][:16], "?", "2")
    assert odd.since == "20:26:45 (0 s ago)"  # the node's clock is ahead of ours
    assert odd.reason.startswith("new_code (xxx") and odd.reason.endswith("x…)")
    assert len(odd.reason) < 200
    assert {(b.org, b.key_id, b.reason, b.since, b.until, b.offences) for b in unreadable} == {
        ("?",) * 6}
    for not_a_list in ("bad_block", {"key_id": K[1]}, None, 3):
        v = summarize({**status([K[1], K[2]], {}), "bans": not_a_list}, now_ms=NOW)
        assert v.bans == [] and v.banner is None


def test_dev_node_status_has_no_bans():
    v = summarize({"chain_id": "c" * 64, "height": 3, "node_key": K[0]}, now_ms=0)
    assert v.bans == []


@pytest.fixture
def themed():
    """Apply a theme for one test and put the application's look back afterwards."""
    app = QApplication.instance()
    before = app.styleSheet(), app.palette(), app.property("bcmlpTheme")
    yield lambda theme: apply_theme(app, theme)
    app.setStyleSheet(before[0])
    app.setPalette(before[1])
    app.setProperty("bcmlpTheme", before[2])


def test_page_shows_banned_peers_as_warning_rows(qtbot, themed):
    now = time.time_ns() // 1_000_000
    peers = [{"key_id": k, "org": f"Company {i + 1}", "host": f"10.0.0.{i + 1}", "port": 26656,
              "rtt_us": 800 + 300 * i, "height": 7} for i, k in enumerate(K[1:3])]
    answer = {
        **status([], {}), "peers": peers,
        "validator_set": [{"key_id": k, "org": f"Company {i + 1}"} for i, k in enumerate(K)],
        "bans": [ban(K[3], since_ms=now - 42_000, until_ms=now + 600_000),
                 ban("e" * 64, org="Company 5", reason="time_in_future", offences=1,
                     detail="block time 95 s ahead of ours", since_ms=now - 95_000,
                     until_ms=now + 300_000)],
    }
    current = {"status": answer}
    page = NetworkPage(lambda: current["status"], poll_ms=50)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    for theme in ("light", "dark"):
        themed(theme)
        page.show_status(answer)
        page.show()
        qtbot.waitUntil(lambda: page.bans.rowCount() == 2 and page.bans_box.isVisible(),
                        timeout=5000)
        qtbot.wait(100)
        cells = [page.bans.item(0, c).text() for c in range(page.bans.columnCount())]
        assert cells[:3] == ["Company 4", K[3][:16], "bad_block: sent an invalid block "
                             "(commit at h12 has 2 of 4 signatures)"]
        # rendered a moment after `now`: 42 s, or 43 on a loaded machine
        assert cells[3].endswith(("(42 s ago)", "(43 s ago)")) and cells[5] == "3"
        assert page.bans.item(1, 2).text().startswith("time_in_future")
        assert page.bans.item(1, 0).background().color().name() == WARNING_ROW[theme][0]
        assert page.banner.text() == ("2 peers banned: Company 4 (bad_block), "
                                      "Company 5 (time_in_future)")
        for c in (0, 1, 3, 4, 5):  # whole, not elided
            width = page.bans.fontMetrics().horizontalAdvance(page.bans.item(0, c).text())
            assert page.bans.columnWidth(c) > width
        for r in range(2):  # the reason wraps in its row, the table shows every row
            wrapped = page.bans.fontMetrics().boundingRect(
                QRect(0, 0, page.bans.columnWidth(2) - 8, 1000), Qt.TextFlag.TextWordWrap,
                page.bans.item(r, 2).text())
            assert wrapped.height() <= page.bans.rowHeight(r)
        assert page.bans.viewport().height() >= sum(page.bans.rowHeight(r) for r in range(2))
        name = "network-banned-peer.png" if theme == "dark" else "network-banned-peer-light.png"
        page.grab().save(str(SCREENSHOTS / name))
    current["status"] = status([K[1], K[2]], {})
    qtbot.waitUntil(lambda: page.bans_box.isHidden() and page.bans.rowCount() == 0, timeout=5000)
    assert page.banner.isHidden()


@pytest.mark.slow
def test_page_on_a_live_consortium(qtbot, tmp_path):
    _g, _d, procs = make_cluster(tmp_path / "c")
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.wait_ready(60)
        wait_heights(procs, 2)
        sock = procs[0].root / "node.sock"

        def fetch():
            with NodeClient(sock, timeout=3) as c:
                return c.status()

        page = NetworkPage(fetch, poll_ms=200, recent_ms=3000)
        qtbot.addWidget(page)
        page.resize(1000, 700)
        page.show()
        qtbot.waitUntil(lambda: page.peers.rowCount() == 3 and page.validators.rowCount() == 4, timeout=20000)
        assert page.banner.isHidden()
        assert page.validators.item(0, 2).text() == "online"
        page.grab().save(str(SCREENSHOTS / "network-4-online.png"))
        procs[2].stop(signal.SIGKILL)
        procs[3].stop(signal.SIGKILL)
        qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=20000)
        assert page.banner.text().startswith("2 of 4 validators online, 3 needed")
        page.grab().save(str(SCREENSHOTS / "network-2-online.png"))
    finally:
        stop_all(procs)


@pytest.mark.slow
def test_page_on_a_live_consortium_with_a_banned_member(qtbot, tmp_path):
    """A real hostile validator (`app.hostile`, a registered key stamping its proposals far in the
    future) is banned by the honest nodes; the page of one of them shows who, why and since when
    (tests/screenshots/network-banned-live.png)."""
    from app.hostile import cluster as hc
    from tests.support.cluster import FAST

    c = hc.make(tmp_path, "time_jump", seed=1, extra_args=FAST)
    try:
        c.start()
        deadline = time.monotonic() + 60
        while not hc.banned_by_all(c.honest, c.hostile_key):
            assert time.monotonic() < deadline, [hc.bans_of(p) for p in c.honest]
            time.sleep(0.3)
        client = NodeClient(c.honest[0].root / "node.sock", timeout=10)
        page = NetworkPage(client.status, poll_ms=300)
        qtbot.addWidget(page)
        page.resize(1100, 720)
        page.show()
        qtbot.waitUntil(lambda: page.bans.rowCount() == 1 and page.bans_box.isVisible(),
                        timeout=15_000)
        row = [page.bans.item(0, col).text() for col in range(page.bans.columnCount())]
        assert row[1] == c.hostile_key[:16] and row[2].startswith("time_in_future")
        assert "banned" in page.banner.text() and "time_in_future" in page.banner.text()
        assert "3 of 4 validators online" in page.summary.text()  # the banned one is not
        qtbot.wait(300)
        page.grab().save(str(SCREENSHOTS / "network-banned-live.png"))
        page.close()
        client.close()
    finally:
        stop_all(c.procs)
