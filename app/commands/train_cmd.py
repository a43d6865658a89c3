"""`bcmlp train`: train the NEU CNN on a folder of class folders; writes safetensors + card.

Runs on its own or under `torchrun` (DistributedDataParallel; gloo on CPU): for example
`torchrun --standalone --nproc-per-node 2 -m app train --data DIR --out MODEL --device cpu`.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from app.commands.common import emit_json, json_option
from app.commands.inspection_options import device_option

DEFAULT_EPOCHS = 50  # inspection.train.DEFAULT_EPOCHS (a test keeps them equal)


@click.command("train")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder with one sub-folder of images per class (like neu-det).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Model path: writes MODEL.safetensors and MODEL.card.json.")
@click.option("--epochs", default=DEFAULT_EPOCHS, show_default=True, type=click.IntRange(1, 10_000))
@device_option
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**31 - 1))
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1, 4096))
@click.option("--limit-per-class", default=None, type=click.IntRange(1, 1_000_000),
              help="Use at most this many images per class on each side of the split.")
@json_option
def train_cmd(data, out, epochs, device, seed, batch_size, limit_per_class, as_json) -> None:
    """Train the compact CNN (stated split: see the model card) and write weights + card."""
    from inspection.train import TrainOptions, train

    opts = TrainOptions(data=data, out=out, epochs=epochs, device=device, seed=seed,
                        batch_size=batch_size, limit_per_class=limit_per_class)
    rank = int(os.environ.get("RANK", "0"))
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                  console=console, disable=rank != 0 or as_json, transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int, info: dict) -> None:
            if stage not in ("load", "train"):
                if stage == "epoch":
                    text = f"epoch {done}/{total} val acc {info['val_accuracy']:.4f}"
                    bar.update(tasks["train"], info=text) if "train" in tasks else None
                return
            if stage not in tasks:
                label = "loading images" if stage == "load" else "training"
                tasks[stage] = bar.add_task(label, total=total, info="")
            bar.update(tasks[stage], completed=done)

        result = train(opts, progress)
    if result.rank != 0:
        return
    val = result.validation
    summary = {
        "weights": str(result.weights),
        "validation_accuracy": val["accuracy"],
        "validation_n": val["n"],
        "world_size": result.world_size,
        "seconds": round(result.seconds, 1),
        "split": result.card["dataset"]["split"],
    }
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"wrote {result.weights} (+ card); validation accuracy "
                   f"{val['accuracy']:.4f} on {val['n']} images; {summary['split']}")
