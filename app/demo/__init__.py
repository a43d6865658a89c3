"""`bcmlp demo`: a local four-company consortium (docs/design.md's use case) that plays the pipeline.

The operator (the company using ML), the trainer (model training company), the auditor (quality
control company) and the monitor (condition monitoring company) each get a sub-folder of the demo
folder with an identity (organisation, expert, encrypted key), a node key and one validator node:
a separate `bcmlp node` process on loopback, peers found over zeroconf restricted to 127.0.0.1
(consortium.py). Then the pipeline runs for real through each company's own node, by the
services: certificates with lineage, ratings and a monitor report (pipeline.py); the operator
station's trust gate, inspection of the bundled images replayed as a looping camera and
`inspection.batch` anchoring (operator_station.py); a summary from every node's chain at the end
(summary.py). This module holds the session that ties them together.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path
from typing import Any

import platformdirs

from app.demo.consortium import Consortium, DemoError, Progress
from app.demo.operator_station import Station, make_inspector
from app.demo.pipeline import MODEL, REPLAY_FPS, SAMPLES, PipelineIds, play_pipeline
from app.demo.summary import summary

__all__ = ["MODEL", "REPLAY_FPS", "SAMPLES", "Demo", "DemoError", "check_loopback", "default_root",
           "make_inspector"]


def default_root() -> Path:
    base = Path(platformdirs.user_data_dir("bcmlp", appauthor=False)) / "demo"
    return base / time.strftime("%Y%m%d-%H%M%S")


class Demo:
    """One demo session: set-up, the running station, the stop and the summary."""

    def __init__(self, root: Path, progress: Progress, inspect: bool) -> None:
        self.t0 = time.monotonic()
        self.cons = Consortium(root, progress)
        self.progress = progress
        self.inspect = inspect
        self.ids: PipelineIds | None = None
        self.station: Station | None = None
        self.started_at: float | None = None

    def setup(self) -> None:
        check_loopback()
        self.cons.prepare()
        # torch, OpenCV and the model load while the nodes start (shorter time to the first verdict)
        self.cons.start(on_spawned=threading.Thread(target=_prewarm, name="demo-prewarm", daemon=True).start)
        self.ids = play_pipeline(self.cons)
        self.station = Station(self.cons, self.ids, self.inspect, self.t0)
        self.station.start()
        self.started_at = time.monotonic()

    def close(self) -> None:
        """Stop the station, then every node; idempotent."""
        if self.station is not None:
            self.station.stop()
        self.cons.stop()

    def summary(self) -> dict[str, Any]:
        ran = 0.0 if self.started_at is None else time.monotonic() - self.started_at
        out = summary(self.cons, self.ids, self.station, ran)
        out["seconds_total"] = round(time.monotonic() - self.t0, 1)
        return out


def _prewarm() -> None:
    with contextlib.suppress(Exception):  # the station reports any real problem itself
        from app.station import services as svc

        svc.model(MODEL)


def check_loopback() -> None:
    """Loopback must accept listening sockets (the nodes take any free port)."""
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
    except OSError as exc:
        raise DemoError(f"cannot listen on 127.0.0.1: {exc.strerror}") from None
