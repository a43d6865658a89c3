"""The demo plays the pipeline through the services, not through the commands: it reads no
printed text (ids come back typed), so rewording a command's output cannot break it. Here the
four companies share one validator node (the operator's), so one process plays it all."""

from __future__ import annotations

import ast
from pathlib import Path

import click
import pytest

from app.demo.consortium import Consortium
from app.demo.pipeline import play_pipeline
from app.services.genesis import create_genesis
from app.services.ledger import open_view
from tests.support import nodeproc

REPO = Path(__file__).resolve().parents[2]
DEMO = sorted((REPO / "app" / "demo").glob("*.py"))


@pytest.mark.parametrize("path", DEMO, ids=lambda p: p.name)
def test_demo_calls_no_command(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not {m for m in names if m.startswith(("app.commands", "click", "rich"))}
    assert not attrs & {"callback", "redirect_stdout", "redirect_stderr"}


def test_pipeline_ids_come_from_the_services(tmp_path, monkeypatch):
    said: list[str] = []
    cons = Consortium(tmp_path / "demo", said.append)
    cons.prepare()
    op = cons.members["operator"].dd
    dds = [m.dd for m in cons.members.values()]
    create_genesis(op.genesis_file, dds, [op], "demo-one-node", {}, force=True)
    for m in cons.members.values():
        if m.dd.root != op.root:  # the other companies reach the operator's node and database
            for name in ("genesis.json", "ledger.sqlite", "node.sock"):
                (m.dd.root / name).unlink(missing_ok=True)
                (m.dd.root / name).symlink_to(op.root / name)

    def no_printing(*args, **kwargs):
        raise AssertionError(f"the demo printed {args!r}")

    monkeypatch.setattr(click, "echo", no_printing)
    proc, client = nodeproc.start(op.root)
    try:
        ids = play_pipeline(cons)
    finally:
        assert nodeproc.stop(proc, client) == 0
    with open_view(op) as view:
        kinds = {k: view.live.get("cert", getattr(ids, k))["cert"]["kind"]
                 for k in ("dataset", "pipeline", "labels", "model")}
        ratings = [view.store.tx(h) for h in ids.ratings]
        report = view.store.tx(ids.report)
    assert kinds == {"dataset": "dataset", "pipeline": "pipeline", "labels": "labels", "model": "model"}
    assert len(ratings) == 7 and {r["type"] for r in ratings} == {"rating.submit"}
    assert report["type"] == "monitor.report"
    assert any(line.startswith("operator: certified dataset images 1: ") for line in said), said
