"""The measurements behind `bcmlp bench inspection` (see that command for what they mean)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from app.errors import UserError
from app.paths import DataDir
from app.station import services as svc
from inspection.engine import Inspector
from inspection.preprocess import decode_image, to_model_input
from inspection.sources import Frame, open_source, read_frames


def _load_frames(folder: Path, limit: int) -> list[Frame]:
    src = open_source(str(folder))
    src.open()
    try:
        return read_frames(src, limit)
    finally:
        src.close()


def run_bench(
    device: str, model_path: Path | None, images: Path | None, seconds: float, n_latency: int,
    threads: int,
) -> dict[str, Any]:
    loaded = svc.model(model_path)
    orders = svc.orders(None)
    with svc.user_errors():
        frames = _load_frames(images or svc.SAMPLE_IMAGES, 512)
    if not frames:
        raise UserError("no images to benchmark with")
    with tempfile.TemporaryDirectory(prefix="bcmlp-bench-") as tmp:
        dd = DataDir(Path(tmp))
        with svc.user_errors():
            engine = svc.InferenceEngine(loaded, device, threads=threads or None)
        inspector: Inspector = svc.inspector(dd, loaded, orders[0], engine=engine)
        cfg = engine.cfg
        # batched: decode + preprocess + infer, 64 at a time
        batch = [frames[i % len(frames)].data for i in range(64)]
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            engine.infer(np.stack([to_model_input(decode_image(b), cfg) for b in batch]))
            n += len(batch)
        images_per_s = n / (time.perf_counter() - t0)
        # model only
        x = np.stack([to_model_input(decode_image(b), cfg) for b in batch])
        m, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < min(seconds, 2.0):
            engine.infer(x)
            m += len(x)
        model_per_s = m / (time.perf_counter() - t0)
        # one frame end to end, stored for real
        lat = []
        for i in range(n_latency):
            f = frames[i % len(frames)]
            frame = Frame(f"bench-{i}", time.time_ns(), i, "bench", data=f.data)
            t = time.perf_counter()
            inspector.inspect([frame])
            lat.append((time.perf_counter() - t) * 1000)
        stored = inspector.records.count() if inspector.records else 0
        inspector.records.engine.dispose()
    return {
        "device": engine.device.type,
        "threads": torch.get_num_threads() if engine.device.type == "cpu" else None,
        "images_per_s": round(images_per_s, 1),
        "model_images_per_s": round(model_per_s, 1),
        "latency_ms_p50": round(float(np.percentile(lat, 50)), 3),
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 3),
        "latency_frames": len(lat),
        "records_stored": stored,
        "batch": len(batch),
        "input": f"{cfg.width}x{cfg.height} gray",
        "parameters": sum(p.numel() for p in loaded.model.parameters()),
    }
