"""Training the NEU CNN: fixed seed, the stated split of `dataset`, augmentation, optional DDP.

Run single-process, or under `torchrun` (WORLD_SIZE > 1): each process then trains on its
shard of every epoch's permutation through DistributedDataParallel (gloo on CPU, NCCL on CUDA);
rank 0 evaluates and writes the weights (.safetensors) and the model card.

Progress goes to a callback `progress(stage, done, total, info)`; a `cancel` event stops
training between steps (Cancelled; nothing is written).
"""

from __future__ import annotations

import gc
import math
import os
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from bedrock.cancel import Cancelled
from inspection.augment import AugmentConfig, augment
from inspection.dataset import SPLIT_RULE, load_arrays, scan
from inspection.devices import resolve_device
from inspection.errors import DatasetError
from inspection.metrics import integer_summary, summary
from inspection.model import DEFAULT_CHANNELS, NeuNet, save_model
from inspection.preprocess import DEFAULT_PREPROCESS, PreprocessConfig, normalise

Progress = Callable[[str, int, int, dict[str, Any]], None]
DEFAULT_EPOCHS = 50


@dataclass
class TrainOptions:
    data: Path
    out: Path
    epochs: int = DEFAULT_EPOCHS
    batch_size: int = 32
    lr: float = 4e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.05
    seed: int = 0
    device: str = "auto"
    channels: tuple[int, ...] = DEFAULT_CHANNELS
    preprocess: PreprocessConfig = DEFAULT_PREPROCESS
    limit_per_class: int | None = None  # small subsets for tests and smoke runs
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class TrainResult:
    weights: Path | None
    card: dict[str, Any] | None
    validation: dict[str, Any]
    seconds: float
    rank: int
    world_size: int


def _dist_env() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    return rank, world


def _limit(samples, n: int | None):
    if n is None:
        return samples
    seen: dict[int, int] = {}
    out = []
    for s in samples:
        if seen.get(s.label, 0) < n:
            out.append(s)
            seen[s.label] = seen.get(s.label, 0) + 1
    return out


@torch.inference_mode()
def predict(model: torch.nn.Module, images: np.ndarray, cfg: PreprocessConfig,
            device: torch.device, batch: int = 256) -> np.ndarray:
    """Class probabilities (float32, N x C) for uint8 model inputs (N x H x W)."""
    model.eval()
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i:i + batch][:, None]).to(device)
        out.append(torch.softmax(model(normalise(x, cfg)).float(), dim=1).cpu())
    if not out:
        return np.zeros((0, 0), np.float32)
    return torch.cat(out).numpy()


def train(opts: TrainOptions, progress: Progress | None = None,
          cancel: threading.Event | None = None) -> TrainResult:
    started = time.perf_counter()
    rank, world = _dist_env()
    device = resolve_device(opts.device)
    report = progress if (progress is not None and rank == 0) else (lambda *a: None)
    distributed = world > 1
    if distributed:
        import torch.distributed as dist

        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    try:
        result = _train(opts, device, rank, world, report, cancel, started)
        if distributed:
            dist.barrier()  # rank 0 validates and saves while the others wait: all leave together
        return result
    finally:
        if distributed:
            # the DDP reducer (in a reference cycle) must go before its process group: freed at
            # interpreter exit instead, gloo's threads were torn down under it ("terminate called
            # without an active exception", SIGABRT in a rank, seen once in CI)
            gc.collect()
            dist.destroy_process_group()


def _train(opts, device, rank, world, report, cancel, started) -> TrainResult:
    if opts.epochs < 1 or opts.batch_size < 1:
        raise DatasetError("epochs and batch size must be at least 1")
    torch.manual_seed(opts.seed)
    np.random.seed(opts.seed % 2**32)
    folder = scan(opts.data)
    train_s, val_s = folder.split()
    train_s, val_s = _limit(train_s, opts.limit_per_class), _limit(val_s, opts.limit_per_class)
    if not train_s or not val_s:
        raise DatasetError("the split left no training or no validation images")
    cfg = opts.preprocess
    total = len(train_s) + len(val_s)

    def loading(done: int) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled("training cancelled")
        report("load", done, total, {})

    loading(0)
    xtr, ytr, skipped_tr = load_arrays(train_s, cfg, lambda d, t: loading(d))
    xva, yva, skipped_va = load_arrays(val_s, cfg, lambda d, t: loading(len(train_s) + d))
    if len(xtr) == 0 or len(xva) == 0:
        raise DatasetError("no readable training or validation images")
    model = NeuNet(len(folder.classes), tuple(opts.channels)).to(device)
    net: torch.nn.Module = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        net = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
    per_rank = len(xtr) // world
    steps_per_epoch = max(1, math.ceil(per_rank / opts.batch_size))
    total_steps = steps_per_epoch * opts.epochs
    optim = torch.optim.AdamW(net.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        optim, max_lr=opts.lr, total_steps=total_steps, pct_start=0.15
    )
    gen = torch.Generator().manual_seed(opts.seed * 1000 + rank)
    perm_gen = torch.Generator().manual_seed(opts.seed)
    xtr_t, ytr_t = torch.from_numpy(xtr[:, None]), torch.from_numpy(ytr)
    step = 0
    history = []
    for epoch in range(opts.epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=perm_gen)[rank::world][:per_rank]
        loss_sum, seen = 0.0, 0
        for b in range(steps_per_epoch):
            if cancel is not None and cancel.is_set():
                raise Cancelled("training cancelled")
            idx = perm[b * opts.batch_size:(b + 1) * opts.batch_size]
            x = augment(xtr_t[idx].to(device), gen, opts.augment)
            y = ytr_t[idx].to(device)
            loss = F.cross_entropy(net(normalise(x, cfg)), y, label_smoothing=opts.label_smoothing)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            sched.step()
            step += 1
            loss_sum += float(loss.detach()) * len(idx)
            seen += len(idx)
            report("train", step, total_steps,
                   {"epoch": epoch + 1, "epochs": opts.epochs, "loss": loss_sum / max(seen, 1)})
        if rank == 0:
            probs = predict(model, xva, cfg, device)
            acc = float((probs.argmax(1) == yva).mean())
            history.append({"epoch": epoch + 1, "loss": loss_sum / max(seen, 1), "val_acc": acc})
            report("epoch", epoch + 1, opts.epochs,
                   {"loss": loss_sum / max(seen, 1), "val_accuracy": acc})
    if rank != 0:
        return TrainResult(None, None, {}, time.perf_counter() - started, rank, world)
    probs = predict(model, xva, cfg, device)
    val = summary(yva, probs.argmax(1), folder.classes)
    model = model.cpu()
    card_extra = {
        "classes": list(folder.classes),
        "dataset": {
            "digest": folder.digest(),
            "name": opts.data.name,
            "images": len(folder.samples),
            "train_images": len(xtr),
            "validation_images": len(xva),
            "split": SPLIT_RULE,
            "skipped": len(skipped_tr) + len(skipped_va),
        },
        "training": {
            "epochs": opts.epochs,
            "batch_size": opts.batch_size,
            "lr_micro": int(round(opts.lr * 1e6)),
            "weight_decay_micro": int(round(opts.weight_decay * 1e6)),
            "label_smoothing_milli": int(round(opts.label_smoothing * 1000)),
            "optimizer": "AdamW + OneCycle",
            "seed": opts.seed,
            "world_size": world,
            "device": device.type,
            "limit_per_class": opts.limit_per_class,
            "augmentation": {k: int(round(v * 1000)) if isinstance(v, float) else v
                             for k, v in asdict(opts.augment).items()},
            "augmentation_scale": "floats as integer milli-units",
            "torch": str(torch.__version__),
            "python": platform.python_version(),
            "seconds": int(time.perf_counter() - started),
        },
        "validation": integer_summary(val),
    }
    weights, _card_file, card = save_model(model, opts.out, cfg, card_extra)
    report("done", 1, 1, {"val_accuracy": val["accuracy"], "history": history})
    return TrainResult(weights, card, val, time.perf_counter() - started, rank, world)
