"""`bcmlp certify KIND PATH`: hash a file or folder, issue the certificate through the local node,
wait for the commit, print the certificate id.

The predicate is derived where the files say it (a model: its model card; a dataset: image counts
per class folder; a pipeline: the preprocessing JSON file itself) and completed or overridden by
`--predicate-file`. The ledger checks it against DESIGN.md section 5 and refuses with a reason."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from app.commands.cert_common import (
    hash_path,
    local_signer,
    open_view,
    passphrase_option,
    resolve_cert_id,
    submit,
)
from app.commands.common import data_dir_option
from app.errors import UserError
from app.paths import open_data_dir
from bedrock.canonical import digest_hex
from ledger_core.attest.certs import check_predicate
from ledger_core.chain.tx import CERT_KIND_ROLE, TxError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}
DAY_MS = 86_400_000


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"cannot read {what} {path}: {exc}") from None


def model_predicate(weights: Path) -> dict[str, Any]:
    """The model's birth facts from the card next to the weights (`<name>.card.json`)."""
    stem = weights.name.removesuffix(".safetensors")
    card_file = weights.with_name(stem + ".card.json")
    if not card_file.is_file():
        raise UserError(f"no model card {card_file.name} next to {weights}")
    card = _read_json(card_file, "model card")
    try:
        arch = card["architecture"]
        training = {
            k: v for k, v in sorted(card.get("training", {}).items())
            if (type(v) is int or (type(v) is str and len(v) <= 200)) and len(k) <= 64
        }
        validation = card.get("validation", {})
        metrics = {}
        if "accuracy_bp" in validation:
            metrics["accuracy"] = validation["accuracy_bp"] * 100
        for cls, m in sorted(validation.get("per_class", {}).items()):
            if "recall_bp" in m:
                metrics[f"recall.{cls}"[:64].lower()] = m["recall_bp"] * 100
        ds = card.get("dataset", {})
        pred = {
            "architecture": f"{arch['name']} channels={arch.get('channels')}"[:200],
            "classes": list(card["classes"]),
            "training": dict(list(training.items())[:64]),
            "metrics": dict(list(metrics.items())[:64]),
            "eval_set": f"{ds.get('name', 'validation')}: {ds.get('split', 'validation split')}"[:200],
            "parameters": int(arch.get("parameters", 0)),
        }
        if card.get("preprocessing_digest"):
            pred["preprocessing_digest"] = card["preprocessing_digest"]
    except (KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"model card {card_file} lacks {exc}") from None
    return pred


def dataset_predicate(root: Path) -> dict[str, Any]:
    """Image counts per class folder (first-level sub-folders holding images)."""
    counts: dict[str, int] = {}
    if root.is_dir():
        for sub in sorted(p for p in root.iterdir() if p.is_dir()):
            n = sum(1 for f in sub.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
            if n:
                counts[sub.name] = n
    return {"counts": counts, "files": sum(counts.values())}


def pipeline_predicate(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    config = _read_json(path, "preprocessing configuration")
    if not isinstance(config, dict):
        raise UserError(f"{path}: a preprocessing configuration is a JSON object")
    return {"config": config, "config_digest": digest_hex(config)}


DERIVE = {"model": model_predicate, "dataset": dataset_predicate, "pipeline": pipeline_predicate}


@click.command("certify")
@click.argument("kind", type=click.Choice(sorted(CERT_KIND_ROLE)))
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@click.option("--parent", "parents", multiple=True, help="Lineage certificate id (repeat; a unique prefix works).")
@click.option("--name", default=None, help="Subject name (default: the file or folder name).")
@click.option("--version", "version", default="1", show_default=True, help="Subject version.")
@click.option("--predicate-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="JSON object with kind-specific facts (merged over what is derived from the files).")
@click.option("--valid-days", type=click.IntRange(1, 100_000), default=None, help="Validity (default: open-ended).")
@passphrase_option
@data_dir_option
def certify_cmd(kind, path, parents, name, version, predicate_file, valid_days, passphrase_file, data_dir) -> None:
    """Certify KIND (dataset, labels, data_collection, pipeline, infrastructure, model) for PATH."""
    dd = open_data_dir(data_dir)
    view = open_view(dd)
    try:
        lineage = []
        for p in parents:
            cid = resolve_cert_id(view, p)
            if cid is None:
                raise UserError(f"--parent {p}: no such certificate on the ledger")
            lineage.append(cid)
    finally:
        view.close()
    predicate = DERIVE[kind](path) if kind in DERIVE else {}
    if predicate_file is not None:
        extra = _read_json(predicate_file, "predicate file")
        if not isinstance(extra, dict):
            raise UserError(f"{predicate_file}: the predicate is a JSON object")
        predicate.update(extra)
    try:
        check_predicate(kind, predicate)
    except TxError as exc:
        raise UserError(f"{exc} (complete it with --predicate-file)") from None
    manifest = hash_path(path)
    signer = local_signer(dd, passphrase_file)
    now = time.time_ns() // 1_000_000
    cert = {
        "kind": kind,
        "subject": {"name": (name or path.name)[:100], "version": version, "digest": manifest.digest},
        "lineage": lineage,
        "predicate": predicate,
        "valid_from": now - 60_000,  # clocks of issuer and nodes differ slightly
        "valid_until": None if valid_days is None else now + valid_days * DAY_MS,
    }
    tx, ans = submit(dd, signer, "cert.issue", {"cert": cert})
    click.echo(f"certified {kind} {cert['subject']['name']} {version}: {len(manifest.files)} files, "
               f"digest {manifest.digest[:16]}, committed at height {ans.get('height')}", err=True)
    click.echo(tx.hash)
