"""The Network perspective: its view model, and the page on a live 4-validator consortium
(peers appear; with two validators killed the banner says the chain cannot commit)."""

from __future__ import annotations

import signal

import pytest

from app.commands.cluster_procs import stop_all
from ledger_core.node.client import NodeClient
from tests.conftest import SCREENSHOTS
from tests.support.cluster import make_cluster, wait_heights
from ui.network.model import summarize
from ui.network.page import NetworkPage

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
    assert page.peers.rowCount() == 0 and page.banner.isHidden()


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
