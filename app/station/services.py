"""Wiring of the inspection pipeline for the CLI and the GUI: bundled model and orders, stores.

Turns inspection errors into UserError (one line, exit 2) for the command line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import cv2

import resources
from app.db import make_engine, sqlite_url
from app.errors import UserError
from app.paths import DataDir
from inspection.engine import InferenceEngine, Inspector
from inspection.errors import InspectionError
from inspection.history import ImageStore
from inspection.model import LoadedModel, load_model
from inspection.orders import Order, load_orders, load_parameters
from inspection.orders import pick_order as _pick_order
from inspection.records import RecordStore

BUNDLED_MODEL = resources.path("model", "neu.safetensors")
BUNDLED_ORDERS = resources.path("samples", "orders.json")
SAMPLE_IMAGES = resources.path("samples", "images")

# OpenCV would print its own warnings (a missing camera, a bad stream) next to our one-line errors
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Re-raise inspection errors as UserError (one clear line on the command line)."""
    try:
        yield
    except InspectionError as exc:
        raise UserError(str(exc)) from None


def model(path: Path | None = None) -> LoadedModel:
    """The model at `path` (default: the bundled one), read once and loaded from those bytes. A
    station attached to a ledger loads through `model_gate.StationGate.admit` instead."""
    with user_errors():
        return load_model(Path(path) if path else BUNDLED_MODEL)


def orders(path: Path | None = None) -> list[Order]:
    with user_errors():
        return load_orders(Path(path) if path else BUNDLED_ORDERS)


def pick_order(all_orders: list[Order], order_id: str | None) -> Order:
    with user_errors():
        return _pick_order(all_orders, order_id)


def record_store(dd: DataDir) -> RecordStore:
    dd.inspection_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return RecordStore(make_engine(sqlite_url(dd.inspection_dir / "records.sqlite")))


def image_store(dd: DataDir) -> ImageStore:
    return ImageStore(dd.inspection_dir / "images")


def inspector(
    dd: DataDir | None,
    loaded: LoadedModel,
    order: Order,
    device: str = "auto",
    params_csv: Path | None = None,
    engine: InferenceEngine | None = None,
) -> Inspector:
    """An Inspector for `order`; with a data dir its records and images are stored there.

    `engine`: reuse an already warmed-up engine for `loaded` (the GUI keeps one).
    """
    with user_errors():
        params = load_parameters(params_csv) if params_csv else None
        if engine is None:
            engine = InferenceEngine(loaded, device)
    return Inspector(
        engine,
        order,
        records=record_store(dd) if dd is not None else None,
        images=image_store(dd) if dd is not None else None,
        params=params,
    )
