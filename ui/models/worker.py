"""The Models page's work off the GUI thread: training (`train_job`, a `ui.workers` job with
progress and cancel), and the model certificates on the ledger with the one that certifies the
shown weights (`load_model_certs`, run by the ledger box's head follower)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bedrock.cancel import CancelCheck
from inspection.train import TrainOptions, TrainResult, train
from ledger_core.attest.gate import TrustView
from ledger_core.attest.manifest import ManifestError, build_manifest
from ledger_core.attest.queries import certificate_for
from ui.certificates.model import cert_rows
from ui.workers import Progress


@dataclass(frozen=True)
class ModelCertsLoad:
    rows: list[dict[str, Any]]  # the model certificates, newest first (see cert_rows)
    height: int
    threshold_ppm: int
    weights: Path
    weights_cert: str | None  # the newest certificate whose subject digest is the weights' digest
    weights_error: str = ""  # why the weights could not be hashed


def load_model_certs(opener: Callable[[], tuple[Any, Any, Any]], weights: Path) -> ModelCertsLoad:
    _store, _genesis, live = opener()
    tv = TrustView(live.get, live.keys, live.height)
    rows = [r for r in cert_rows(live, lambda cid: tv.cert(cid).expected_ppm) if r["kind"] == "model"]
    try:
        digest = build_manifest(weights).digest
        cert, error = certificate_for(live.get, live.keys, digest, time.time_ns() // 1_000_000), ""
    except (OSError, ManifestError) as exc:
        cert, error = None, f"the weights cannot be read: {exc}"
    return ModelCertsLoad(rows, live.height, tv.threshold_ppm, weights, cert, error)



class _CancelEvent:
    """`inspection.train` polls a cancel event (`is_set()`); this one asks the task's check."""

    def __init__(self, cancel: CancelCheck) -> None:
        self.is_set = cancel


def train_job(options: TrainOptions, progress: Progress, cancel: CancelCheck) -> TrainResult:
    """Train; progress is (stage, done, total, info) as `inspection.train` reports it, less the
    loss history (the page shows the newest figures only)."""

    def report(stage: str, done: int, total: int, info: dict[str, Any]) -> None:
        progress(stage, done, total, {k: v for k, v in info.items() if k != "history"})

    return train(options, report, _CancelEvent(cancel))
