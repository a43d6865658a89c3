"""The certified pipeline the demo plays through the companies' own nodes, by the services:
certificates with lineage (dataset, pipeline, labels, model), ratings of each other's work and a
monitoring report about the model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import resources
from app.demo.consortium import Consortium

SAMPLES = resources.path("samples", "images")
MODEL = resources.path("model", "neu.safetensors")
CARD = resources.path("model", "neu.card.json")
REPLAY_FPS = 8.0  # the looping "camera": the bundled images at this rate


@dataclass
class PipelineIds:
    dataset: str
    pipeline: str
    labels: str
    model: str
    pipeline_file: Path
    ratings: list[str] = field(default_factory=list)
    report: str = ""


def _write_json(path: Path, obj: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    return path


def play_pipeline(cons: Consortium) -> PipelineIds:
    """Certificates, ratings and a monitor report, each through its company's own node."""
    from app.identity import IdentityStore
    from app.services.certify import certify, predicate_for
    from app.services.rating import rate
    from app.services.submit import submit

    m = cons.members
    card = json.loads(CARD.read_text())
    classes = list(card["classes"])

    def certify_as(who: str, kind: str, path: Path, parents: tuple[str, ...] = (),
                   predicate: dict | None = None) -> str:
        mem = m[who]
        done = certify(mem.dd, mem.signer, kind, path, predicate_for(kind, path, predicate),
                       lineage=parents)
        cons.wait_height(cons.heights()[who])
        cons.progress(f"{who}: {done.describe()}; certificate {done.cert_id[:16]}")
        return done.cert_id

    op_pipeline = _write_json(m["operator"].dd.root / "demo" / "preprocessing.json", card["preprocessing"])
    ds = certify_as("operator", "dataset", SAMPLES,
                    predicate={"source_device": "bundled NEU-DET samples (replayed camera)"})
    pl = certify_as("operator", "pipeline", op_pipeline)
    n_images = sum(1 for f in SAMPLES.rglob("*.jpg"))
    lb = certify_as("auditor", "labels", SAMPLES, parents=(ds,),
                    predicate={"classes": classes, "count": n_images, "method": "class folders, checked by QC"})
    md = certify_as("trainer", "model", MODEL, parents=(ds, lb, pl))
    ids = PipelineIds(ds, pl, lb, md, op_pipeline)
    key = {k: IdentityStore(mem.dd).load().key_id for k, mem in m.items()}
    # (rater, subject, score, evidence, what): QC reviews the model and its trainer; the trainer
    # rates the inputs it trained with and the companies that certified them
    ratings = (
        ("auditor", md, 90, md, "the model"), ("auditor", key["trainer"], 85, md, "the trainer"),
        ("trainer", ds, 90, ds, "the dataset"), ("trainer", lb, 90, lb, "the labels"),
        ("trainer", pl, 90, pl, "the pipeline"), ("trainer", key["operator"], 85, ds, "the operator"),
        ("trainer", key["auditor"], 85, lb, "quality control"),
    )
    for rater, subject, score, evidence, what in ratings:
        done = rate(m[rater].dd, m[rater].signer, subject, score, evidence, f"{rater} review of {what}")
        ids.ratings.append(done.tx_hash)
        cons.progress(f"{rater}: rated {what} {score}/100")
    cons.wait_height(max(cons.heights().values()))
    mon = m["monitor"]
    report = submit(mon.dd, mon.signer(), "monitor.report",
                    {"component": "camera-1", "status": "ok", "metrics": {"fps": int(REPLAY_FPS)}, "about": md})
    ids.report = report.hash
    cons.wait_height(report.height or 0)
    cons.progress(f"monitor: reported camera-1 ok about model {md[:16]}")
    return ids
