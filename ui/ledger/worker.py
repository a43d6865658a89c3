"""The Ledger page's work off the GUI thread: verifying the whole chain (a `ui.workers` job, with
progress and cancel)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bedrock.cancel import CancelCheck
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain.verify import verify_chain
from ui.workers import Progress


def verify_chain_job(genesis_loader: Callable[[], Any], store: Any, progress: Progress,
                     cancel: CancelCheck) -> dict[str, Any]:
    """`VerifyReport.as_dict()`, ok or not; progress reports (height, top) as stage "verify"."""
    genesis = genesis_loader()
    report = verify_chain(genesis, store, lambda height, top: progress("verify", height, top), cancel,
                          rules=LEDGER_RULES)
    return report.as_dict()
