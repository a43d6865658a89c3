"""The Models page's view of the ledger: the model certificates (status, trust) and which one
certifies the weights shown on the page, following new blocks while shown (the selection and
scroll position stay)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
)

from ui.certificates.model import CertsModel, cert_id
from ui.live import Head, HeadFollower, Opener, keep_place
from ui.models.worker import ModelCertsLoad, load_model_certs

PPM = 1_000_000


@dataclass(frozen=True)
class ModelLedger:
    opener: Opener  # (store, genesis, live); raises with a message
    head: Head | None = None  # the ledger's height through one cheap query
    live_ms: int = 1000


class ModelCertsBox(QGroupBox):
    def __init__(self, ledger: ModelLedger, weights: Path, parent=None) -> None:
        super().__init__("Model certificates on the ledger", parent)
        self.ledger = ledger
        self.data: ModelCertsLoad | None = None
        self.status = QLabel("Reading the ledger…")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.weights_line = QLabel()
        self.weights_line.setWordWrap(True)
        self.reload_btn = QPushButton("Reload")
        self.model = CertsModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.hideColumn(0)  # the kind: always model
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.reload_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.weights_line)
        lay.addWidget(self.table, 1)
        self.follower = HeadFollower(self, partial(load_model_certs, ledger.opener, weights), ledger.head,
                                     ledger.live_ms)
        self.follower.loaded.connect(self._loaded)
        self.follower.failed.connect(self._failed)
        self.reload_btn.clicked.connect(self.follower.refresh)

    def set_weights(self, weights: Path) -> None:
        """The page shows another model: find its certificate (now if the box is shown)."""
        self.follower.load = partial(load_model_certs, self.ledger.opener, weights)
        if self.isVisible():
            self.follower.refresh()

    @Slot(object)
    def _loaded(self, data: ModelCertsLoad) -> None:
        self.data = data
        if data.rows != self.model.rows:  # most blocks change no model certificate
            restore = keep_place(self.table, cert_id)
            self.model.set_rows(data.rows)
            restore()
        n = len(data.rows)
        self.status.setText(f"{n} model certificate{'' if n == 1 else 's'} at height {data.height}; "
                            f"trust threshold {data.threshold_ppm / PPM:.3f}")
        self.weights_line.setText(self.weights_text(data))

    @staticmethod
    def weights_text(data: ModelCertsLoad) -> str:
        name = data.weights.name
        if data.weights_error:
            return f"{name}: {data.weights_error}"
        row = next((r for r in data.rows if r["id"] == data.weights_cert), None)
        if row is None:
            return f"{name}: no model certificate on this ledger has the digest of these weights"
        return (f"{name}: certified by {row['id'][:16]}… ({row['name']} {row['version']}, {row['status']}, "
                f"trust {row['trust_ppm'] / PPM:.3f}, height {row['height']})")

    @Slot(str)
    def _failed(self, message: str) -> None:
        shown = "" if self.data is None else f" (showing height {self.data.height})"
        self.status.setText(message + shown)

    def shutdown(self) -> None:
        self.follower.shutdown()
