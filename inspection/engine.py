"""Inference engine and the per-workpiece inspection pipeline.

`InferenceEngine`: a loaded model on a device (`auto` = CUDA, then MPS, then CPU), half
precision on CUDA, warmed up at load, `infer()` runs under `torch.inference_mode()` in the
calling (worker) thread on a batch of uint8 model inputs.

`Inspector`: one frame end to end: decode/convert, preprocess, infer, quality index and verdict,
image into the history store, record into the record store. A bad frame (corrupt, truncated,
wrong size or channel count) raises ImageError in `prepare`, is counted and never recorded.

`InspectionWorker`: a thread that takes the newest frame from one or more mailboxes, batches
whatever frames are waiting, inspects them and reports results through callbacks.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from sqlalchemy.exc import SQLAlchemyError

from inspection.devices import resolve_device
from inspection.errors import ImageError, StorageError
from inspection.history import ImageStore, encode_png
from inspection.mailbox import Mailbox
from inspection.model import LoadedModel
from inspection.orders import Order
from inspection.preprocess import decode_image, normalise, to_gray, to_model_input
from inspection.quality import Assessment, assess
from inspection.records import InspectionRecord, RecordStore
from inspection.sources import Frame


class InferenceEngine:
    """`threads`: CPU intra-op threads for inference (None: torch's default). One is the default:
    on a small shared CPU, more threads spin-wait on each other and the p95 latency of a single
    frame grows from a few ms to hundreds; the other cores serve capture, GUI and storage."""

    def __init__(
        self, loaded: LoadedModel, device: str = "auto", max_batch: int = 64,
        threads: int | None = 1,
    ) -> None:
        self.loaded = loaded
        self.threads = threads
        self.device = resolve_device(device)
        self.half = self.device.type == "cuda"
        self.max_batch = max_batch
        model = loaded.model.to(self.device).eval()
        self.model = model.half() if self.half else model
        self.cfg = loaded.preprocess
        self.classes = loaded.classes
        self.warm_up()

    def warm_up(self) -> None:
        """Run batches of the sizes in use once, so the first real frame is not slow."""
        for n in (1, min(8, self.max_batch), self.max_batch):
            self.infer(np.zeros((n, self.cfg.height, self.cfg.width), np.uint8))

    def infer(self, inputs: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities (N x C, float32) for uint8 inputs of shape (N, H, W)."""
        arr = np.ascontiguousarray(np.asarray(inputs, dtype=np.uint8))
        if arr.ndim != 3 or arr.shape[1:] != (self.cfg.height, self.cfg.width):
            raise ImageError(
                f"model inputs must be N x {self.cfg.height} x {self.cfg.width}, got {arr.shape}"
            )
        if self.threads and self.device.type == "cpu" and torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        out = []
        with torch.inference_mode():
            for i in range(0, len(arr), self.max_batch):
                x = torch.from_numpy(arr[i:i + self.max_batch][:, None]).to(self.device)
                x = normalise(x, self.cfg)
                if self.half:
                    x = x.half()
                out.append(torch.softmax(self.model(x).float(), dim=1).cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, len(self.classes)), np.float32)


@dataclass
class Prepared:
    frame: Frame
    gray: np.ndarray
    model_input: np.ndarray
    encoded: bytes | None

    def image_bytes(self) -> bytes:
        """What the image SHA-256 covers: the source file, else a lossless PNG of the frame."""
        if self.encoded is None:
            self.encoded = encode_png(self.gray if self.frame.image is None else self.frame.image)
        return self.encoded


@dataclass
class InspectionResult:
    record: InspectionRecord
    assessment: Assessment
    gray: np.ndarray
    latency_ms: float  # from frame capture to the stored record

    def to_json_dict(self) -> dict[str, Any]:
        """The record (`InspectionRecord.to_json_dict`) with the top class and its per-mille."""
        d = self.record.to_json_dict()
        d["top_class"] = self.assessment.top_class
        d["top_permille"] = self.assessment.top_permille
        return d


@dataclass
class BadFrame:
    workpiece_id: str
    source: str
    reason: str


@dataclass
class Counters:
    inspected: int = 0
    ok: int = 0
    nok: int = 0
    bad: int = 0
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=500))

    def p95_ms(self) -> float:
        if not self.latencies_ms:
            return 0.0
        return float(np.percentile(list(self.latencies_ms), 95))  # list(): atomic copy


class Inspector:
    """Frame -> record; holds the order, the stores and the counters. Thread-confined use."""

    def __init__(
        self,
        engine: InferenceEngine,
        order: Order,
        records: RecordStore | None = None,
        images: ImageStore | None = None,
        params: dict[str, dict[str, str]] | None = None,
        model_cert_id: str | None = None,
        pipeline_cert_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.order = order
        self.records = records
        self.images = images
        self.params = params or {}
        self.model_cert_id = model_cert_id
        self.pipeline_cert_id = pipeline_cert_id
        self.counters = Counters()

    def prepare(self, frame: Frame) -> Prepared:
        """Decode and preprocess; ImageError for a frame that cannot be used."""
        if frame.data is not None:
            gray = decode_image(frame.data)
            encoded: bytes | None = frame.data
        elif frame.image is not None:
            gray = to_gray(frame.image)
            encoded = None
        else:
            raise ImageError("frame holds no image")
        return Prepared(frame, gray, to_model_input(gray, self.engine.cfg), encoded)

    def inspect(self, frames: Iterable[Frame]) -> list[InspectionResult | BadFrame]:
        """Inspect a batch of frames; bad frames come back as BadFrame and are not recorded."""
        out: list[InspectionResult | BadFrame | None] = []
        good: list[tuple[int, Prepared]] = []
        for frame in frames:
            try:
                good.append((len(out), self.prepare(frame)))
                out.append(None)
            except ImageError as exc:
                self.counters.bad += 1
                out.append(BadFrame(frame.workpiece_id, frame.source, str(exc)))
        if good:
            probs = self.engine.infer(np.stack([p.model_input for _, p in good]))
            try:
                results = [self._finish(p, pr) for (_, p), pr in zip(good, probs, strict=True)]
                if self.records is not None:
                    ids = self.records.add_many([r.record for r in results])
                    for r, rid in zip(results, ids, strict=True):
                        r.record = replace(r.record, id=rid)
            except (OSError, SQLAlchemyError) as exc:
                raise StorageError(f"cannot store inspection results: {exc}") from exc
            self._count(results)
            now = time.time_ns()
            for (i, _), r in zip(good, results, strict=True):
                r.latency_ms = (now - r.record.source_time_ns) / 1e6
                self.counters.latencies_ms.append(r.latency_ms)
                out[i] = r
        return [r for r in out if r is not None]

    def _finish(self, p: Prepared, probs: np.ndarray) -> InspectionResult:
        a = assess(self.engine.classes, [float(v) for v in probs], self.order)
        data = p.image_bytes()
        sha = self.images.put(data) if self.images is not None else hashlib.sha256(data).hexdigest()
        rec = InspectionRecord(
            workpiece_id=p.frame.workpiece_id,
            order_id=self.order.id,
            source=p.frame.source,
            source_time_ns=p.frame.source_time_ns,
            inspected_at_ns=time.time_ns(),
            image_sha256=sha,
            model_id=self.engine.loaded.model_id,
            preprocessing_digest=self.engine.cfg.digest,
            probs_permille=a.probs_permille,
            quality_permille=a.quality_permille,
            verdict=a.verdict,
            params=self.params.get(p.frame.workpiece_id, {}),
            model_cert_id=self.model_cert_id,
            pipeline_cert_id=self.pipeline_cert_id,
        )
        return InspectionResult(rec, a, p.gray, 0.0)

    def _count(self, results: list[InspectionResult]) -> None:
        """Count only what was stored: a failed batch leaves the counters as they were."""
        for r in results:
            self.counters.inspected += 1
            if r.record.verdict == "OK":
                self.counters.ok += 1
            else:
                self.counters.nok += 1


class InspectionWorker:
    """Inference on its own thread: newest frames from the mailboxes, batched, inspected."""

    def __init__(
        self,
        inspector: Inspector,
        mailboxes: Sequence[Mailbox[Frame]],
        on_result: Callable[[InspectionResult], None] | None = None,
        on_bad: Callable[[BadFrame], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.inspector = inspector
        self.mailboxes = list(mailboxes)
        self.on_result = on_result or (lambda r: None)
        self.on_bad = on_bad or (lambda b: None)
        self.on_error = on_error or (lambda m: None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._done_times: deque = deque(maxlen=60)
        self._lock = threading.Lock()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="inference", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        self._stop.set()
        for m in self.mailboxes:
            m.close()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def set_order(self, order: Order) -> None:
        with self._lock:
            self.inspector.order = order

    def fps(self) -> float:
        t = list(self._done_times)
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) >= 2 and t[-1] > t[0] else 0.0

    def _collect(self) -> list[Frame]:
        """The newest frame of every mailbox that has one: one batch (waits briefly if none)."""
        if len(self.mailboxes) == 1:
            f = self.mailboxes[0].get(timeout=0.1)
            return [f] if f is not None else []
        frames = [f for m in self.mailboxes if (f := m.get(timeout=0)) is not None]
        if not frames:
            time.sleep(0.005)
        return frames

    def _run(self) -> None:
        while not self._stop.is_set():
            frames = self._collect()
            if not frames:
                if all(m.closed for m in self.mailboxes):
                    return
                continue
            try:
                with self._lock:
                    results = self.inspector.inspect(frames)
            except Exception as exc:  # noqa: BLE001 - report (e.g. database down), keep serving
                self.on_error(f"inspection failed: {exc}")
                continue
            for r in results:
                if isinstance(r, BadFrame):
                    self.on_bad(r)
                else:
                    self._done_times.append(time.monotonic())
                    self.on_result(r)
