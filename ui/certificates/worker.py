"""The Certificates page's work off the GUI thread: loading the list from a fresh ledger snapshot
(`load_certificates`, run by the page's head follower), and verification (`verify`, a `ui.workers`
job: hash local files with progress and cancel, then check by check)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrock.cancel import CancelCheck
from ledger_core.attest.gate import TrustView
from ledger_core.attest.manifest import build_manifest
from ledger_core.attest.proofs import Report, build_bundle, check_bundle
from ledger_core.attest.queries import certificate_for
from ui.certificates.model import cert_rows
from ui.workers import Progress


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


def verify(snapshot: Any, cert_id: str | None, path: Path | None, progress: Progress | None = None,
           cancel: CancelCheck | None = None) -> Report:
    """snapshot: (store, genesis, live). Verify a certificate, files against one, or files alone;
    hashing the files reports (bytes done, bytes total) as stage "hash"."""
    store, genesis, live = snapshot
    local = None
    if path is not None:
        hashed = None if progress is None else (lambda done, total: progress("hash", done, total))
        local = build_manifest(path, hashed, cancel).digest
        if cert_id is None:
            cert_id = certificate_for(live.get, live.keys, local, time.time_ns() // 1_000_000)
            if cert_id is None:
                rep = Report("")
                rep.add("files", False, f"no certificate on the ledger has the digest {local[:16]} of {path.name}")
                return rep
    return check_bundle(build_bundle(store, genesis, live, cert_id), genesis, live, local)

