"""Certifying a file or folder: the kind's predicate derived from the files (a model: its model
card; a dataset: image counts per class folder; a pipeline: the preprocessing JSON file itself),
then a `cert.issue` of its manifest digest, committed through the local node."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.paths import DataDir
from app.services.hashing import HashProgress, hash_path
from app.services.signing import SignerSource
from app.services.submit import submit
from bedrock.canonical import digest_hex
from ledger_core.attest.certs import check_predicate

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}
DAY_MS = 86_400_000


def read_json(path: Path, what: str) -> Any:
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
    card = read_json(card_file, "model card")
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
    config = read_json(path, "preprocessing configuration")
    if not isinstance(config, dict):
        raise UserError(f"{path}: a preprocessing configuration is a JSON object")
    return {"config": config, "config_digest": digest_hex(config)}


DERIVE = {"model": model_predicate, "dataset": dataset_predicate, "pipeline": pipeline_predicate}


def predicate_for(
    kind: str, path: Path, extra: dict[str, Any] | Path | None = None
) -> dict[str, Any]:
    """What the files say about `path` as a `kind`, completed or overridden by `extra` (an
    object, or a JSON file holding one), checked against docs/design.md section 5 (a TxError says
    what is missing)."""
    predicate = DERIVE[kind](path) if kind in DERIVE else {}
    if isinstance(extra, Path):
        extra_file, extra = extra, read_json(extra, "predicate file")
        if not isinstance(extra, dict):
            raise UserError(f"{extra_file}: the predicate is a JSON object")
    predicate.update(extra or {})
    check_predicate(kind, predicate)
    return predicate


@dataclass(frozen=True)
class Certified:
    """A committed certificate: its id is the hash of its `cert.issue` transaction."""

    cert_id: str
    kind: str
    name: str
    version: str
    files: int
    digest: str
    height: int | None

    def describe(self) -> str:
        return (f"certified {self.kind} {self.name} {self.version}: {self.files} files, "
                f"digest {self.digest[:16]}, committed at height {self.height}")


def certify(
    dd: DataDir, signer: SignerSource, kind: str, path: Path, predicate: dict[str, Any], *,
    lineage: Iterable[str] = (), name: str | None = None, version: str = "1",
    valid_days: int | None = None, progress: HashProgress | None = None,
) -> Certified:
    """Hash `path` (reporting to `progress`), then sign (asking `signer` only now) and commit
    its certificate with the checked `predicate` and the `lineage` certificate ids."""
    manifest = hash_path(path, progress)
    key = signer()
    now = time.time_ns() // 1_000_000
    subject = (name or path.name)[:100]
    cert = {
        "kind": kind,
        "subject": {"name": subject, "version": version, "digest": manifest.digest},
        "lineage": list(lineage),
        "predicate": predicate,
        "valid_from": now - 60_000,  # clocks of issuer and nodes differ slightly
        "valid_until": None if valid_days is None else now + valid_days * DAY_MS,
    }
    done = submit(dd, key, "cert.issue", {"cert": cert})
    return Certified(done.hash, kind, subject, version, len(manifest.files), manifest.digest,
                     done.height)
