"""The Models perspective: a model card viewer, training with progress and cancel, and (with a
ledger) the model certificates on it, following new blocks."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspection.errors import ModelError
from inspection.model import card_path_for, read_card
from inspection.train import DEFAULT_EPOCHS, TrainOptions
from ui.models.ledger_box import ModelCertsBox, ModelLedger
from ui.models.worker import train_job
from ui.workers import Task, TaskControls


class ModelsBackend(Protocol):
    bundled_model: Path
    models_dir: Path


def card_summary(card: dict) -> str:
    """A readable digest of a model card (the full JSON follows it in the viewer)."""
    v = card.get("validation") or {}
    ds = card.get("dataset") or {}
    tr = card.get("training") or {}
    lines = [
        f"classes: {', '.join(card.get('classes', []))}",
        f"input: {card.get('input')}",
        f"preprocessing digest: {card.get('preprocessing_digest')}",
        f"weights SHA-256: {card.get('weights_sha256')}",
        f"architecture: {card.get('architecture')}",
        f"dataset: {ds.get('name')} digest {str(ds.get('digest'))[:16]}…, "
        f"{ds.get('train_images')} train / {ds.get('validation_images')} validation",
        f"split: {ds.get('split')}",
        f"training: {tr.get('epochs')} epochs, seed {tr.get('seed')}, {tr.get('world_size')} process(es)",
    ]
    if v.get("n"):
        lines.append(f"validation accuracy: {v['correct']}/{v['n']} = {v['accuracy_bp'] / 100:.2f}%")
    return "\n".join(lines)


class ModelsPage(QWidget):
    def __init__(self, backend: ModelsBackend, default_data: Path | None = None,
                 parent: QWidget | None = None, ledger: ModelLedger | None = None) -> None:
        super().__init__(parent)
        self.backend = backend
        title = QLabel("Models")
        title.setObjectName("pageTitle")

        # card viewer ---------------------------------------------------------------
        self.model_path = QLineEdit(str(backend.bundled_model))
        open_button = QPushButton("Open…")
        show_button = QPushButton("Show card")
        row = QHBoxLayout()
        row.addWidget(self.model_path, 1)
        row.addWidget(open_button)
        row.addWidget(show_button)
        self.card_view = QPlainTextEdit()
        self.card_view.setReadOnly(True)
        card_box = QGroupBox("Model card")
        cl = QVBoxLayout(card_box)
        cl.addLayout(row)
        cl.addWidget(self.card_view)

        # training ------------------------------------------------------------------
        self.data_path = QLineEdit(str(default_data) if default_data else "")
        self.data_path.setPlaceholderText("folder with one sub-folder of images per class")
        self.out_path = QLineEdit(str(backend.models_dir / "neu-retrained"))
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(DEFAULT_EPOCHS)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        form = QFormLayout()
        form.addRow("Data folder", self.data_path)
        form.addRow("Output model", self.out_path)
        form.addRow("Epochs", self.epochs)
        form.addRow("Seed", self.seed)
        self.train_button = QPushButton("Train")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress_text = QLabel("")
        self.train_task = Task(self, "training")
        self.train_task.progressed.connect(self._on_progress)
        self.train_task.succeeded.connect(self._on_done)
        self.training = TaskControls(self.train_task, self.progress_text, self.progress, self.cancel_button,
                                     (self.train_button,), failed="training failed: {}",
                                     cancelled="training cancelled; nothing written", cancelling="cancelling…",
                                     stages=("load", "train"), keep_shown=True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        train_box = QGroupBox("Train")
        tl = QVBoxLayout(train_box)
        tl.addLayout(form)
        tl.addLayout(buttons)
        tl.addWidget(self.progress_text)

        self.ledger_box = None if ledger is None else ModelCertsBox(ledger, backend.bundled_model)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(card_box, 2)
        if self.ledger_box is not None:
            layout.addWidget(self.ledger_box, 1)
        layout.addWidget(train_box, 1)

        open_button.clicked.connect(self._open_model)
        show_button.clicked.connect(self.show_card)
        self.train_button.clicked.connect(self._train_clicked)
        self.show_card()

    @Slot()
    def _open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model", str(self.backend.models_dir),
                                              "Models (*.safetensors)")
        if path:
            self.model_path.setText(path)
            self.show_card()

    @Slot()
    def show_card(self) -> bool:
        path = Path(self.model_path.text().strip())
        if self.ledger_box is not None:
            self.ledger_box.set_weights(path)
        try:
            card = read_card(card_path_for(path))
        except ModelError as exc:
            self.card_view.setPlainText(f"cannot show the card: {exc}")
            return False
        self.card_view.setPlainText(card_summary(card) + "\n\n" + json.dumps(card, indent=2))
        return True

    @Slot()
    def _train_clicked(self) -> None:
        self.start_training()

    @property
    def worker(self) -> Task | None:
        """The training while it runs."""
        return self.train_task if self.train_task.isRunning() else None

    def start_training(self, epochs: int | None = None, limit_per_class: int | None = None) -> bool:
        if self.train_task.busy:
            return False
        data = Path(self.data_path.text().strip())
        if not data.is_dir():
            self.progress_text.setText(f"data folder {data} does not exist")
            return False
        opts = TrainOptions(data=data, out=Path(self.out_path.text().strip()),
                            epochs=epochs or self.epochs.value(), seed=self.seed.value(),
                            device="auto", limit_per_class=limit_per_class)
        return self.training.start(partial(train_job, opts), "starting…")

    @Slot()
    def cancel_training(self) -> None:
        self.training.cancel()

    @Slot(str, object, object, object)
    def _on_progress(self, stage: str, done: int, total: int, info: dict) -> None:
        if stage == "load":
            self.progress_text.setText(f"loading images {done}/{total}")
        elif stage == "train":
            self.progress_text.setText(f"epoch {info['epoch']}/{info['epochs']}, "
                                       f"loss {info['loss']:.3f}")
        elif stage == "epoch":
            self.progress_text.setText(f"epoch {done}/{total}: validation accuracy "
                                       f"{info['val_accuracy']:.4f}")

    @Slot(object)
    def _on_done(self, result) -> None:
        self.progress_text.setText(f"wrote {result.weights}: validation accuracy "
                                   f"{result.validation['accuracy']:.4f} on {result.validation['n']} images")
        self.model_path.setText(str(result.weights))
        self.show_card()

    def shutdown(self) -> None:
        """Cancel and join a running training, stop following the ledger (window closing)."""
        if self.ledger_box is not None:
            self.ledger_box.shutdown()
        self.train_task.shutdown(30_000)
