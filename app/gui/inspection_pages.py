"""Adapts the inspection services to the Operator and Models perspectives' backends."""

from __future__ import annotations

from pathlib import Path

from app.paths import DataDir
from app.station import services as svc
from inspection.engine import InferenceEngine, Inspector
from inspection.orders import Order, load_orders


class OperatorServices:
    """OperatorBackend: bundled orders and samples, the bundled model, stores in the data dir."""

    def __init__(self, dd: DataDir, model_path: Path | None = None, device: str = "auto") -> None:
        self.dd = dd
        self.model_path = model_path
        self.device = device
        self._engine: InferenceEngine | None = None

    def orders(self) -> list[Order]:
        return load_orders(svc.BUNDLED_ORDERS)

    def load_orders(self, path: Path) -> list[Order]:
        return load_orders(path)

    def sources(self) -> list[str]:
        return [str(svc.SAMPLE_IMAGES), "camera:0"]

    def make_inspector(self, order: Order) -> Inspector:
        if self._engine is None:  # load and warm up once; every start reuses it
            self._engine = InferenceEngine(svc.model(self.model_path), self.device)
        return svc.inspector(self.dd, self._engine.loaded, order, engine=self._engine)


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


def operator_page(dd: DataDir):
    """The Operator perspective, stopped and joined when the application quits."""
    from PySide6.QtWidgets import QApplication

    from ui.operator.page import OperatorPage

    page = OperatorPage(OperatorServices(dd))
    if dd.genesis_file.exists() and dd.ledger_db.exists():
        attach_station_gate(page, dd, svc.BUNDLED_MODEL)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    return page


def attach_station_gate(page, dd: DataDir, weights: Path) -> None:
    """A station attached to a ledger inspects only while the trust gate passes its model."""
    from app.station.model_gate import StationGate
    from ui.certificates.gate_badge import GateBadge, GatePoller

    page.attach_gate(GateBadge(), GatePoller(StationGate(dd, weights).poll))


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
