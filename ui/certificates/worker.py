"""The Certificates page's work off the GUI thread: loading the list from a fresh ledger snapshot
(`load_certificates`, run by the page's head follower), and verification on a QThread (hash local
files with progress, then check by check)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread, Signal

from bedrock.cancel import Cancelled
from ledger_core.attest.gate import TrustView
from ledger_core.attest.manifest import build_manifest
from ledger_core.attest.proofs import Report, build_bundle, check_bundle
from ledger_core.attest.queries import newest_with_digest
from ui.certificates.model import cert_rows


@dataclass(frozen=True)
class CertsLoad:
    snapshot: tuple[Any, Any, Any]  # (store, genesis, live)
    trust: TrustView
    rows: list[dict[str, Any]]  # newest first, see cert_rows
    height: int


def load_certificates(opener: Callable[[], tuple[Any, Any, Any]]) -> CertsLoad:
    snapshot = opener()
    live = snapshot[2]
    tv = TrustView(live.get, live.keys, live.height)
    return CertsLoad(snapshot, tv, cert_rows(live, lambda cid: tv.cert(cid).expected_ppm), live.height)


def verify(snapshot: Any, cert_id: str | None, path: Path | None, progress=None, cancel=None) -> Report:
    """snapshot: (store, genesis, live). Verify a certificate, files against one, or files alone."""
    store, genesis, live = snapshot
    local = None
    if path is not None:
        local = build_manifest(path, progress, cancel).digest
        if cert_id is None:
            cert_id = newest_with_digest(live.get, live.keys, local)
            if cert_id is None:
                rep = Report("")
                rep.add("files", False, f"no certificate on the ledger has the digest {local[:16]} of {path.name}")
                return rep
    return check_bundle(build_bundle(store, genesis, live, cert_id), genesis, live, local)


class VerifyWorker(QThread):
    progressed = Signal(int, int)  # bytes done, total
    succeeded = Signal(object)  # Report
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, snapshot: Any, cert_id: str | None, path: Path | None, parent=None) -> None:
        super().__init__(parent)
        self.snapshot, self.cert_id, self.path = snapshot, cert_id, path
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            rep = verify(self.snapshot, self.cert_id, self.path, self.progressed.emit, self._cancel.is_set)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            self.failed.emit(str(exc))
        else:
            self.succeeded.emit(rep)
