"""Records, the image history store, the inference engine and the inspector on bad frames."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pytest

from app.db import make_engine, sqlite_url
from inspection.engine import (
    BadFrame,
    InferenceEngine,
    InspectionResult,
    InspectionWorker,
    Inspector,
)
from inspection.errors import DeviceError, ImageError
from inspection.history import ImageStore
from inspection.mailbox import Mailbox
from inspection.model import load_model
from inspection.orders import Order
from inspection.records import InspectionRecord, RecordStore
from inspection.sources import Frame

ORDER = Order("P-1", 500, {"crazing": 100})


def make_record(**kw) -> InspectionRecord:
    base = dict(workpiece_id="w1", order_id="P-1", source="s", source_time_ns=1, inspected_at_ns=2,
                image_sha256="a" * 64, model_id="b" * 64, preprocessing_digest="c" * 64,
                probs_permille={"crazing": 1000}, quality_permille=900, verdict="OK")
    base.update(kw)
    return InspectionRecord(**base)


def test_record_store_roundtrip_and_digest(tmp_path):
    store = RecordStore(make_engine(sqlite_url(tmp_path / "r.sqlite")))
    rec = make_record(params={"tool": "T1"})
    rid = store.add(rec)
    [back] = store.by_workpiece("w1")
    assert back.id == rid and back.digest == rec.digest and back.params == {"tool": "T1"}
    assert make_record(quality_permille=899).digest != rec.digest
    ids = store.add_many([make_record(workpiece_id=f"w{i}", inspected_at_ns=10 + i) for i in range(5)])
    assert store.count() == 6 and [r.id for r in store.page(after_id=ids[1], limit=2)] == ids[2:4]
    assert store.latest(1)[0].workpiece_id == "w4"
    assert store.get(ids[2]).workpiece_id == "w2" and store.get(ids[-1] + 1) is None


def test_image_store_is_content_addressed(tmp_path):
    store = ImageStore(tmp_path / "img")
    sha = store.put(b"abc")
    assert sha == hashlib.sha256(b"abc").hexdigest() and store.put(b"abc") == sha
    assert store.get(sha) == b"abc" and sha in store
    store.path(sha).write_bytes(b"abd")
    with pytest.raises(ImageError, match="altered"):
        store.get(sha)
    with pytest.raises(ImageError):
        store.get("0" * 64)
    assert store.read(sha) == b"abd" and store.read("0" * 64) is None  # as stored, unchecked


def test_cuda_without_gpu_is_a_clear_error(untrained_model):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(DeviceError, match="no CUDA"):
        InferenceEngine(load_model(untrained_model), "cuda")


def test_engine_checks_input_shape(untrained_model):
    eng = InferenceEngine(load_model(untrained_model), "cpu")
    h, w = eng.cfg.height, eng.cfg.width
    p = eng.infer(np.zeros((3, h, w), np.uint8))
    assert p.shape == (3, 6) and np.allclose(p.sum(1), 1, atol=1e-5)
    with pytest.raises(ImageError):
        eng.infer(np.zeros((3, 32, 32), np.uint8))


def test_inspector_skips_and_counts_bad_frames(tmp_path, untrained_model, sample_files):
    store = RecordStore(make_engine(sqlite_url(tmp_path / "r.sqlite")))
    images = ImageStore(tmp_path / "img")
    insp = Inspector(InferenceEngine(load_model(untrained_model), "cpu"), ORDER, store, images,
                     params={sample_files[0].name: {"tool": "T9"}})
    good = sample_files[0].read_bytes()
    frames = [
        Frame(sample_files[0].name, time.time_ns(), 1, "t", data=good),
        Frame("trunc", time.time_ns(), 2, "t", data=good[:300]),
        Frame("junk", time.time_ns(), 3, "t", data=b"\x00" * 100),
        Frame("twoch", time.time_ns(), 4, "t", image=np.zeros((50, 50, 2), np.uint8)),
        Frame("tiny", time.time_ns(), 5, "t", image=np.zeros((3, 3), np.uint8)),
        Frame("cam", time.time_ns(), 6, "t", image=np.full((120, 160, 3), 90, np.uint8)),
    ]
    out = insp.inspect(frames)
    bad = [r for r in out if isinstance(r, BadFrame)]
    ok = [r for r in out if isinstance(r, InspectionResult)]
    assert [b.workpiece_id for b in bad] == ["trunc", "junk", "twoch", "tiny"]
    assert [r.record.workpiece_id for r in ok] == [sample_files[0].name, "cam"]
    assert insp.counters.bad == 4 and insp.counters.inspected == 2
    assert store.count() == 2 and {r.workpiece_id for r in store.latest(10)} == {sample_files[0].name, "cam"}
    first = store.by_workpiece(sample_files[0].name)[0]
    assert first.image_sha256 == hashlib.sha256(good).hexdigest() and images.get(first.image_sha256) == good
    assert first.params == {"tool": "T9"} and sum(first.probs_permille.values()) == 1000
    assert first.model_cert_id is None and first.pipeline_cert_id is None
    line = ok[0].to_json_dict()
    assert line["record_digest"] == first.digest and line["id"] == first.id
    assert (line["top_class"], line["top_permille"]) == (ok[0].assessment.top_class, ok[0].assessment.top_permille)
    assert images.get(store.by_workpiece("cam")[0].image_sha256)[:4] == b"\x89PNG"


def test_worker_thread_inspects_from_mailbox(untrained_model, sample_files):
    insp = Inspector(InferenceEngine(load_model(untrained_model), "cpu"), ORDER)
    box: Mailbox = Mailbox()
    results, bads = [], []
    w = InspectionWorker(insp, [box], results.append, bads.append)
    w.start()
    box.put(Frame("a", time.time_ns(), 1, "t", data=sample_files[0].read_bytes()))
    deadline = time.monotonic() + 5
    while not results and time.monotonic() < deadline:
        time.sleep(0.01)
    box.put(Frame("b", time.time_ns(), 2, "t", data=b"garbage"))
    while not bads and time.monotonic() < deadline:
        time.sleep(0.01)
    assert w.stop(timeout=3)
    assert [r.record.workpiece_id for r in results] == ["a"] and [b.workpiece_id for b in bads] == ["b"]
    assert results[0].latency_ms >= 0


def test_migrations_match_the_table_definition(tmp_path):
    from sqlalchemy import inspect as sa_inspect

    from inspection.records import records_table

    engine = make_engine(sqlite_url(tmp_path / "m.sqlite"))
    RecordStore(engine)
    RecordStore(engine)  # a second open is a no-op upgrade
    insp = sa_inspect(engine)
    cols = {c["name"]: c for c in insp.get_columns("inspection_records")}
    assert set(cols) == {c.name for c in records_table.columns}
    assert all(cols[c.name]["nullable"] == c.nullable for c in records_table.columns)
    assert {i["name"] for i in insp.get_indexes("inspection_records")} >= {
        "ix_inspection_workpiece", "ix_inspection_time"}
    assert "inspection_alembic_version" in insp.get_table_names()


def test_worker_batches_frames_of_several_mailboxes(untrained_model, sample_files):
    insp = Inspector(InferenceEngine(load_model(untrained_model), "cpu"), ORDER)
    boxes = [Mailbox(), Mailbox(), Mailbox()]
    for i, b in enumerate(boxes):
        b.put(Frame(f"cam{i}", time.time_ns(), 1, f"cam{i}", data=sample_files[i].read_bytes()))
    batches = []
    real = insp.inspect
    insp.inspect = lambda frames: batches.append(len(frames)) or real(frames)
    results = []
    w = InspectionWorker(insp, boxes, results.append)
    w.start()
    deadline = time.monotonic() + 5
    while len(results) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert w.stop(timeout=3)
    assert sorted(r.record.workpiece_id for r in results) == ["cam0", "cam1", "cam2"]
    assert batches[0] == 3  # the three waiting frames went through the model as one batch


def test_storage_failure_is_a_clear_error_and_not_counted(tmp_path, untrained_model, sample_files):
    from inspection.errors import StorageError

    db = tmp_path / "r.sqlite"
    store = RecordStore(make_engine(sqlite_url(db)))
    insp = Inspector(InferenceEngine(load_model(untrained_model), "cpu"), ORDER, store)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE inspection_records")
    frame = Frame("w", time.time_ns(), 1, "t", data=sample_files[0].read_bytes())
    with pytest.raises(StorageError, match="cannot store"):
        insp.inspect([frame])
    assert insp.counters.inspected == 0
