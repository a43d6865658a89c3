"""Wiring of the Certificates, Trust and Inspection audit perspectives (and the Models page's
ledger box) to the local ledger database: fresh snapshots for the pages' loads, which run on
worker threads, and a cheap head height that the pages poll while shown."""

from __future__ import annotations

import threading

from app.paths import DataDir


def snapshot_opener(dd: DataDir):
    """Opens a fresh read-only snapshot (store, genesis, live state) on each call; the previous
    one is closed (its engine still answers a verification that holds it, with new connections)."""
    from app.services.ledger import open_view

    views: list = []
    lock = threading.Lock()  # loads run on workers; a verification asked before any load, here

    def open_snapshot():
        with lock:
            while views:
                views.pop().close()
            if not dd.ledger_db.exists():
                raise LookupError(f"No chain in {dd.root} yet: start one with `bcmlp node --dev`; "
                                  "this page follows it once it runs.")
            view = open_view(dd)
            views.append(view)
            return view.store, view.genesis, view.live

    return open_snapshot


def ledger_head(dd: DataDir):
    """The ledger's head height through one cheap query, over one engine kept for the page's life
    (raises while there is no ledger database yet). Called on the GUI thread only."""
    from app.station.model_gate import LedgerHead

    head = LedgerHead(dd)

    def height() -> int:
        if not dd.ledger_db.exists():
            raise LookupError(f"no ledger in {dd.root} yet")
        return head.current()

    return height


def certificates_page(dd: DataDir):
    from PySide6.QtWidgets import QApplication

    from ui.certificates.page import CertificatesPage

    page = CertificatesPage(snapshot_opener(dd), ledger_head(dd))
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    return page


def _rating_submitter(dd: DataDir):
    """Signs a rating with the local identity (its passphrase asked by the page) and waits for
    the commit through the local node."""

    def submit(payload, passphrase):
        from app.identity import IdentityStore
        from app.services.submit import submit as submit_tx
        from ledger_core.crypto.signing import Signer

        store = IdentityStore(dd)
        signer = Signer.from_keypair(store.unlock(passphrase))
        tx, ans = submit_tx(dd, signer, "rating.submit", payload)
        return tx.hash, ans.get("height")

    return submit


def trust_page(dd: DataDir):
    from PySide6.QtWidgets import QApplication

    from ui.trust.page import TrustPage

    page = TrustPage(snapshot_opener(dd), _rating_submitter(dd), ledger_head(dd))
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    return page


def audit_page(dd: DataDir):
    """The Inspection audit perspective over <data-dir>/inspection and the local ledger."""
    from PySide6.QtWidgets import QApplication

    from app.station.anchoring import verify_record
    from ui.audit.page import AuditBackend, AuditPage

    stores: dict = {}
    lock = threading.Lock()  # the page's loads read records on a worker, searches on the GUI thread

    def records():
        with lock:
            if "records" not in stores:
                from app.station.services import image_store, record_store

                stores["records"], stores["images"] = record_store(dd), image_store(dd)
        return stores["records"]

    def find(workpiece: str):
        return [r.to_json_dict() for r in reversed(records().by_workpiece(workpiece))]

    def newest(before_id: int | None, limit: int):
        return [r.to_json_dict() for r in records().newest(before_id, limit)]

    def image(sha: str):
        records()
        return stores["images"].read(sha)

    def reports():
        from app.services.ledger import open_view
        from ledger_core.attest.effects import reports as ledger_reports

        view = open_view(dd)
        try:
            return ledger_reports(view.live.get, view.live.keys)
        finally:
            view.close()

    height = ledger_head(dd)

    def head():
        """New blocks (monitoring reports, anchored batches) and new records both show."""
        try:
            top = height()
        except Exception:  # noqa: BLE001 - no ledger yet: the records alone
            top = None
        newest_record = records().newest(None, 1)
        return top, newest_record[0].id if newest_record else None

    def verify(record_id: int):
        return verify_record(dd, str(record_id))

    page = AuditPage(AuditBackend(find, image, verify, reports, newest, head))
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    return page
