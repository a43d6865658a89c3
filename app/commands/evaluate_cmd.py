"""`bcmlp evaluate`: accuracy, per-class recall and confusion of a model on a class-folder set."""

from __future__ import annotations

from pathlib import Path

import click

from app.commands.common import emit_json, json_option
from app.commands.inspection_options import device_option
from app.errors import UserError


@click.command("evaluate")
@click.option("--model", "model_path", required=True,
              type=click.Path(path_type=Path, dir_okay=False), help="MODEL.safetensors (card next to it).")
@click.option("--data", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder with one sub-folder of images per class.")
@device_option
@click.option("--split", default="all", show_default=True,
              type=click.Choice(["all", "validation", "train"]),
              help="Which side of the stated file-name split to evaluate.")
@click.option("--perturb", multiple=True, metavar="KIND:VALUE",
              help="Robustness: noise:SIGMA, blur:SIGMA, brightness:DELTA, contrast:F, gamma:G "
                   "applied to each image before preprocessing (repeatable).")
@json_option
def evaluate_cmd(model_path, data, device, split, perturb, as_json) -> None:
    """Evaluate a model: {"accuracy", "per_class", "confusion", "n", "images_per_s"}."""
    from app.station import services as svc
    from inspection.evaluate import evaluate
    from inspection.perturb import parse as parse_perturbation

    loaded = svc.model(model_path)
    try:
        for p in perturb:
            parse_perturbation(p)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    engine = svc.InferenceEngine(loaded, device)
    result = evaluate(engine, data, split, list(perturb))
    if as_json:
        emit_json(result)
        return
    click.echo(f"accuracy {result['accuracy']:.4f} on {result['n']} images "
               f"({result['images_per_s']:.0f} images/s, {result['skipped']} skipped)")
    for name, v in result["per_class"].items():
        click.echo(f"  {name:<18} {v['correct']:>4}/{v['n']:<4} recall {v['recall']:.4f}"
                   if v["n"] else f"  {name:<18} no images")
