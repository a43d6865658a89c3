"""Adapts the inspection services to the Operator and Models perspectives' backends."""

from __future__ import annotations

from pathlib import Path

from app.paths import DataDir
from app.station import services as svc
from inspection.engine import InferenceEngine, Inspector
from inspection.orders import Order, load_orders


class OperatorServices:
    """OperatorBackend: bundled orders and samples, the bundled model, stores in the data dir.

    With a station gate (a ledger in the data dir), every Start reads the weights once, judges
    their digest and runs the model loaded from those bytes (`StationGate.admit`); the warmed-up
    engine is kept only while the admitted bytes are the same."""

    def __init__(self, dd: DataDir, model_path: Path | None = None, device: str = "auto",
                 gate=None) -> None:
        self.dd = dd
        self.model_path = model_path
        self.device = device
        self.gate = gate  # app.station.model_gate.StationGate, or None without a ledger
        self._engine: InferenceEngine | None = None

    @property
    def weights(self) -> Path:
        return Path(self.model_path) if self.model_path else svc.BUNDLED_MODEL

    def orders(self) -> list[Order]:
        return load_orders(svc.BUNDLED_ORDERS)

    def load_orders(self, path: Path) -> list[Order]:
        return load_orders(path)

    def sources(self) -> list[str]:
        return [str(svc.SAMPLE_IMAGES), "camera:0"]

    def make_inspector(self, order: Order) -> Inspector:
        if self.gate is None:
            if self._engine is None:  # load and warm up once; every start reuses it
                self._engine = InferenceEngine(svc.model(self.model_path), self.device)
            return svc.inspector(self.dd, self._engine.loaded, order, engine=self._engine)
        admitted = self.gate.admit()  # raises with the reasons when refused: Start fails
        sha = admitted.loaded.weights_sha256
        if self._engine is None or self._engine.loaded.weights_sha256 != sha:
            self._engine = InferenceEngine(admitted.loaded, self.device)
        insp = svc.inspector(self.dd, self._engine.loaded, order, engine=self._engine)
        insp.model_cert_id = admitted.cert_id
        return insp


class ModelServices:
    """ModelsBackend: where models live and which one is bundled."""

    def __init__(self, dd: DataDir) -> None:
        self.dd = dd

    @property
    def bundled_model(self) -> Path:
        return svc.BUNDLED_MODEL

    @property
    def models_dir(self) -> Path:
        d = self.dd.root / "models"
        d.mkdir(mode=0o700, exist_ok=True)
        return d


def operator_page(dd: DataDir, model_path: Path | None = None, device: str = "auto"):
    """The Operator perspective, stopped and joined when the application quits. On a ledger it
    accepts the model certificates `<data-dir>/station.json` names (`station_acceptance`)."""
    from PySide6.QtWidgets import QApplication

    from ui.operator.page import OperatorPage

    services = OperatorServices(dd, model_path, device)
    page = OperatorPage(services)
    if dd.genesis_file.exists() and dd.ledger_db.exists():
        attach_station_gate(page, dd, services.weights)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    return page


def attach_station_gate(page, dd: DataDir, weights: Path, accept=None) -> None:
    """A station attached to a ledger inspects only while the trust gate passes its model: the
    same `StationGate` judges at every new block (the badge) and admits the model at every
    Start (the backend), so the model that runs is loaded from the bytes it judged."""
    from app.errors import UserError
    from app.station.model_gate import GateRefused, StationGate, station_acceptance
    from ui.certificates.gate_badge import GateBadge, GatePoller

    try:
        gate = StationGate(dd, weights, accept or station_acceptance(dd))
    except UserError as exc:  # a station config that cannot be read refuses every model
        gate = BrokenGate(GateRefused(f"station configuration: {exc}"))
    page.backend.gate = gate
    page.attach_gate(GateBadge(), GatePoller(gate.poll))


class BrokenGate:
    """A gate that cannot be judged: every poll and every Start fails with its error (closed)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def poll(self):
        raise self.error

    def admit(self):
        raise self.error


def models_page(dd: DataDir):
    """The Models perspective, with the model certificates of the local ledger; a running training
    is cancelled and joined on quit."""
    from PySide6.QtWidgets import QApplication

    from app.gui.attest_pages import ledger_head, snapshot_opener
    from ui.models.ledger_box import ModelLedger
    from ui.models.page import ModelsPage

    page = ModelsPage(ModelServices(dd), ledger=ModelLedger(snapshot_opener(dd), ledger_head(dd)))
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    return page
