"""Anchored inspection records: batching, per-record proofs, tampered records and batches."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from app.db import make_engine, sqlite_url
from app.paths import DataDir
from app.station.anchoring import Anchorer, AnchorLoop, anchor_engine, check_record
from inspection.history import ImageStore
from inspection.records import InspectionRecord, RecordStore
from ledger_core.attest.proofs import Live
from tests.support.cert_world import T0, certify_all, trust_everyone, world


@pytest.fixture
def setup(tmp_path):
    w = world(tmp_path)
    ids = certify_all(w)
    trust_everyone(w)
    dd = DataDir(tmp_path / "dd")
    dd.root.mkdir()
    records = RecordStore(make_engine(sqlite_url(tmp_path / "records.sqlite")))
    images = ImageStore(tmp_path / "images")
    for i in range(5):
        sha = images.put(f"image {i}".encode())
        records.add(InspectionRecord(f"wp-{i}", "o-1", "cam", i, T0 * 1_000_000 + i, sha, "m" * 64, "p" * 64,
                                     {"crazing": 900, "scratches": 100}, 950, "OK",
                                     model_cert_id=ids["model"] if i < 4 else None,
                                     pipeline_cert_id=ids["pipeline"]))

    def submit(tx_type, payload):
        tx = w.make("op", tx_type, payload)
        res = w.block(tx)
        assert not res.rejected, res.rejected
        return tx.hash, res.height

    engine = anchor_engine(dd)
    now = [T0 / 1000]
    anch = Anchorer(engine, records, submit, "station-1", every_s=60, max_records=3, clock=lambda: now[0])
    return w, ids, records, images, engine, anch, now


def check(w, engine, records, images, rid):
    live = Live(w.get, w.tkeys, w.chain.state.height, T0 + 10)
    return check_record(engine, records, lambda s: images.path(s).read_bytes() if s in images else None,
                        w.chain.store, w.chain.genesis, live, rid)


def test_batches_by_size_time_and_model(setup):
    w, ids, records, images, engine, anch, now = setup
    done = anch.anchor()
    assert [b["count"] for b in done] == [3]  # full batch now; the rest waits for time
    assert anch.anchor() == []
    now[0] += 61
    assert [b["count"] for b in anch.anchor()] == [1, 1]  # split where the model certificate changes
    batch = w.get("batch", done[0]["tx"])
    assert batch["root"] == done[0]["root"] and batch["model_cert"] == ids["model"]
    rep = check(w, engine, records, images, 2)
    assert rep.ok, rep.as_dict()
    assert {"record digest", "inclusion", "batch root", "batch commit", "batch inclusion", "image",
            "model certificate", "model trust"} <= {c.name for c in rep.checks}
    assert not check(w, engine, records, images, 5).ok  # no model certificate named


def bad(rep):
    return {c.name for c in rep.checks if not c.ok}


def test_tampered_record_image_and_batch_fail(setup):
    w, ids, records, images, engine, anch, now = setup
    anch.anchor(force=True)
    with records.engine.begin() as conn:
        conn.execute(sa.text("UPDATE inspection_records SET verdict='NOK' WHERE id=1"))
    assert bad(check(w, engine, records, images, 1)) == {"record digest", "inclusion"}
    sha = records.page(after_id=1, limit=1)[0].image_sha256
    images.path(sha).write_bytes(b"other")
    assert bad(check(w, engine, records, images, 2)) == {"image"}
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE anchor_batches SET root=:r"), {"r": "0" * 64})
    assert "batch root" in bad(check(w, engine, records, images, 3))
    # a record whose anchor was removed is not proven
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM anchor_batches"))
        conn.execute(sa.text("DELETE FROM anchor_proofs"))
    assert bad(check(w, engine, records, images, 3)) == {"anchored"}


def test_model_revoked_after_the_batch(setup):
    w, ids, records, images, engine, anch, now = setup
    anch.anchor(force=True)
    assert w.submit("trainer", "cert.revoke", {"cert_id": ids["model"], "reason": "bad"})[1] is None
    # the result was produced while the model was valid: the record still proves what happened then
    rep = check(w, engine, records, images, 1)
    assert rep.ok and any("not revoked at batch height" in c.reason for c in rep.checks)


def test_anchor_loop_batches_while_inspecting_and_survives_errors(setup):
    w, ids, records, images, engine, anch, now = setup
    lock = threading.Lock()
    real = anch.submit
    fail = {"on": True}

    def submit(tx_type, payload):
        with lock:
            if fail["on"]:
                raise ConnectionError("node down")
            return real(tx_type, payload)

    anch.submit = submit
    loop = AnchorLoop(anch, tick_s=0.01)
    loop.start()
    try:
        deadline = time.monotonic() + 5
        while loop.last_error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert loop.last_error == "node down" and loop.anchored == []
        fail["on"] = False
        while not loop.anchored and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [b["count"] for b in loop.anchored] == [3]  # a full batch; 2 records wait
    finally:
        loop.stop(flush=True)
    assert [b["count"] for b in loop.anchored] == [3, 1, 1] and loop.last_error is None
