"""Wiring of the Certificates and Trust perspectives to the local ledger database."""

from __future__ import annotations

from app.paths import DataDir


def _opener(dd: DataDir):
    """Opens a fresh read-only snapshot (store, genesis, live state) on each call."""
    from app.commands.cert_common import open_view

    views: list = []

    def open_snapshot():
        while views:
            views.pop().close()
        if not dd.ledger_db.exists():
            raise LookupError(f"No chain in {dd.root} yet: start one with `bcmlp node --dev`, then press Reload.")
        view = open_view(dd)
        views.append(view)
        return view.store, view.genesis, view.live

    return open_snapshot


def certificates_page(dd: DataDir):
    from PySide6.QtWidgets import QApplication

    from ui.certificates.page import CertificatesPage

    page = CertificatesPage(_opener(dd))
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    return page


def _rating_submitter(dd: DataDir):
    """Signs a rating with the local identity (its passphrase asked by the page) and waits for
    the commit through the local node."""

    def submit(payload, passphrase):
        from app.commands.cert_common import submit as submit_tx
        from app.identity import IdentityStore
        from ledger_core.signing import Signer

        store = IdentityStore(dd)
        signer = Signer.from_keypair(store.unlock(passphrase))
        tx, ans = submit_tx(dd, signer, "rating.submit", payload)
        return tx.hash, ans.get("height")

    return submit


def trust_page(dd: DataDir):
    from PySide6.QtWidgets import QApplication

    from ui.trust.page import TrustPage

    page = TrustPage(_opener(dd), _rating_submitter(dd))
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    return page


def audit_page(dd: DataDir):
    """The Inspection audit perspective over <data-dir>/inspection and the local ledger."""
    from PySide6.QtWidgets import QApplication

    from app.anchoring import verify_record
    from ui.audit.page import AuditBackend, AuditPage

    stores: dict = {}

    def records():
        if "records" not in stores:
            from app.inspection_services import image_store, record_store

            stores["records"], stores["images"] = record_store(dd), image_store(dd)
        return stores["records"]

    def find(workpiece: str):
        return [r.to_json_dict() for r in reversed(records().by_workpiece(workpiece))]

    def newest(before_id: int | None, limit: int):
        return [r.to_json_dict() for r in records().newest(before_id, limit)]

    def image(sha: str):
        records()
        images = stores["images"]
        return images.path(sha).read_bytes() if sha in images else None

    def reports():
        from app.commands.cert_common import open_view
        from ledger_core.effects import reports as ledger_reports

        view = open_view(dd)
        try:
            return ledger_reports(view.live.get, view.live.keys)
        finally:
            view.close()

    page = AuditPage(AuditBackend(find, image, lambda rid: verify_record(dd, str(rid)), reports, newest))
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    return page
