"""The demo operator company's station: the trust gate at each new head, anchoring of inspection
records, and (headless) inspection of the bundled images replayed as a looping camera."""

from __future__ import annotations

import threading
import time
from typing import Any

from app.demo.consortium import Consortium
from app.demo.pipeline import MODEL, REPLAY_FPS, SAMPLES, PipelineIds
from app.errors import UserError
from app.paths import DataDir

ANCHOR_EVERY_S = 5.0


class Station:
    """The operator's station, on a thread of its own between `start()` and `stop()`."""

    def __init__(self, cons: Consortium, ids: PipelineIds, inspect: bool, t0: float) -> None:
        from app.station.model_gate import Candidate, GateService, ModelGate

        self.cons = cons
        self.ids = ids
        self.dd = cons.members["operator"].dd
        self.inspect = inspect
        self.t0 = t0
        cand = Candidate(ids.model, MODEL, ((ids.dataset, SAMPLES), (ids.pipeline, ids.pipeline_file)))
        self.gate = GateService(self.dd, ModelGate(cand))
        self.status: Any = None
        self.first_verdict_s: float | None = None
        self.inspected = 0
        self.batches: list[dict[str, Any]] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-station", daemon=True)
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.status is not None and self.status.active is not None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def note_verdict(self) -> None:
        with self._lock:
            if self.first_verdict_s is None:
                self.first_verdict_s = time.monotonic() - self.t0
                self.cons.progress(f"operator: first verdict {self.first_verdict_s:.1f} s after the demo started")

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # noqa: BLE001 - reported in the summary and on stderr
            self.error = f"{type(exc).__name__}: {exc}"
            self.cons.progress(f"station stopped: {self.error}")

    def _loop(self) -> None:
        from app.services.submit import sender
        from app.station import services as svc
        from app.station.anchoring import Anchorer, anchor_engine

        engine, records = anchor_engine(self.dd), svc.record_store(self.dd)
        send = sender(self.dd, self.cons.members["operator"].signer())
        anchorer = Anchorer(engine, records, send, "demo-station-1", every_s=ANCHOR_EVERY_S, max_records=200)
        inspector = src = None
        next_gate = 0.0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_gate:
                    st = self.gate.poll()
                    if st is not None:
                        if self.status is None or st.changed:
                            self.cons.progress(f"operator gate at height {st.height}: "
                                               f"{'PASS' if st.active else 'REFUSED'}: {st.message}")
                        self.status = st
                    next_gate = now + 1.0
                    try:
                        self.batches += anchorer.anchor()
                    except UserError as exc:  # e.g. the node is restarting: the records stay pending
                        self.cons.progress(f"anchoring deferred: {exc}")
                    if not self.inspect and self.first_verdict_s is None and records.count():
                        self.note_verdict()  # the Operator perspective stored its first record
                if self.inspect and self.active:
                    if inspector is None:
                        inspector, src = self._open_inspection(svc)
                    frame = src.read()
                    if frame is not None:
                        done = [r for r in inspector.inspect([frame]) if hasattr(r, "record")]
                        if done:
                            self.note_verdict()
                            self.inspected += len(done)
                else:
                    self._stop.wait(0.2)
            self.batches += anchorer.anchor(force=True)
        finally:
            if src is not None:
                src.close()
            engine.dispose()
            records.engine.dispose()
            if inspector is not None and inspector.records is not None:
                inspector.records.engine.dispose()

    def _open_inspection(self, svc):
        from app.station.model_gate import StationGate
        from inspection.sources import open_source
        from ledger_core.attest.model_choice import Acceptance

        # the model that runs is loaded from the bytes the gate judged (pinned: the demo's own)
        admitted = StationGate(self.dd, MODEL, Acceptance.of(pinned=self.ids.model)).admit()
        inspector = make_inspector(self.dd, self.ids, svc.pick_order(svc.orders(), None),
                                   loaded=admitted.loaded)
        src = open_source(str(SAMPLES), rate=REPLAY_FPS, loop=True)
        src.open()
        self.cons.progress(f"operator: inspecting {SAMPLES.name} as a looping camera at {REPLAY_FPS:g} fps")
        return inspector, src


def make_inspector(dd: DataDir, ids: PipelineIds, order, engine=None, loaded=None):
    """An Inspector whose records name the gate-passing model and pipeline certificates; `loaded`
    (or the engine's) is the model the gate admitted, else the bundled one is read."""
    from app.station import services as svc

    if loaded is None:
        loaded = engine.loaded if engine is not None else svc.model(MODEL)
    insp = svc.inspector(dd, loaded, order, engine=engine)
    insp.model_cert_id, insp.pipeline_cert_id = ids.model, ids.pipeline
    return insp
