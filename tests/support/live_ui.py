"""Helpers for the live-page tests: a snapshot opener over a test World (the pages load on worker
threads while the test commits blocks on its own), and waiting for a page to settle."""

from __future__ import annotations

from ledger_core.attest.proofs import Live
from tests.support.cert_world import T0, World


def snapshot_opener(w: World, calls: list | None = None):
    """(store, genesis, live) with the state tables copied at the call, like a database snapshot."""

    def opener():
        if calls is not None:
            calls.append(w.chain.state.height)
        tables = {t: dict(rows) for t, rows in w.chain.state.tables.items()}
        live = Live(lambda t, k: tables.get(t, {}).get(k), lambda t: list(tables.get(t, {})),
                    w.chain.state.height, T0 + 10)
        return w.chain.store, w.chain.genesis, live

    return opener


def settle(qtbot, follower, done, timeout: int = 10_000) -> None:
    """Wait until `done()` holds and no load runs (the next commit then races no reader)."""
    qtbot.waitUntil(lambda: bool(done()) and not follower.busy, timeout=timeout)
