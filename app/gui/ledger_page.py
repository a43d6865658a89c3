"""Wiring of the Ledger perspective (blocks and transactions of <data-dir>/ledger.sqlite) and of
the Network perspective (the node serving <data-dir>/node.sock) to a data directory."""

from __future__ import annotations

from app.paths import DataDir


def ledger_page(dd: DataDir):
    """The Ledger perspective over <data-dir>/ledger.sqlite (read-only use; the node writes)."""
    from PySide6.QtWidgets import QApplication

    from app.db import make_engine, sqlite_url
    from ledger_core.chain import genesis as gen
    from ledger_core.chain.store import LedgerStore
    from ui.ledger.page import LedgerPage

    engines: list = []

    def opener():
        while engines:
            engines.pop().dispose()
        if not dd.ledger_db.exists():
            raise LookupError(f"No chain in {dd.root} yet: start one with `bcmlp node --dev`, then press Reload.")
        engine = make_engine(sqlite_url(dd.ledger_db))
        engines.append(engine)
        return LedgerStore(engine), lambda: gen.load(dd.genesis_file)

    page = LedgerPage(opener)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    return page


def network_page(dd: DataDir):
    """The Network perspective over the node serving <data-dir>/node.sock."""
    from ledger_core.node.client import NodeClient
    from ui.network.page import NetworkPage

    def fetch() -> dict:
        if not dd.node_socket.exists():
            raise LookupError(f"No node is running on {dd.root}: start one with `bcmlp node`.")
        with NodeClient(dd.node_socket, timeout=3) as client:
            return client.status()

    return NetworkPage(fetch)
