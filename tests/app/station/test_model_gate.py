"""The station's gate: a model runs only while it passes; revocation, trust drop and swapped
weights take it out of service at the next block, with a fallback to the last passing model."""

from __future__ import annotations

from app.station.model_gate import Candidate, ModelGate
from bedrock.canonical import digest_hex
from ledger_core.attest.manifest import build_manifest
from tests.support.cert_world import (
    PIPELINE_CONFIG,
    T0,
    certify_all,
    model_predicate,
    trust_everyone,
    world,
)


def status(w, gate):
    return gate.on_state(w.get, w.tkeys, w.chain.state.height, T0 + 10)


def test_gate_follows_the_ledger(tmp_path):
    w = world(tmp_path)
    old_w, new_w = tmp_path / "old.safetensors", tmp_path / "new.safetensors"
    old_w.write_bytes(b"old weights")
    new_w.write_bytes(b"new weights")
    ids = certify_all(w, weights_digest=build_manifest(old_w).digest)
    trust_everyone(w)
    gate = ModelGate(Candidate(ids["model"], old_w))
    s = status(w, gate)
    assert s.active == Candidate(ids["model"], old_w) and s.changed
    new_id = w.issue("trainer", "model", model_predicate(digest_hex(PIPELINE_CONFIG)),
                     [ids["dataset"], ids["labels"], ids["pipeline"], ids["model"]],
                     digest=build_manifest(new_w).digest)
    gate.prefer(Candidate(new_id, new_w))
    assert status(w, gate).active.cert_id == new_id
    # the new model is revoked: out of service at the next block, back to the last passing one
    assert w.submit("trainer", "cert.revoke", {"cert_id": new_id, "reason": "drift"})[1] is None
    s = status(w, gate)
    assert s.active.cert_id == ids["model"] and s.changed and "revoked: drift" in s.message
    # someone swaps the old model's weights on disk: nothing passes, inspection stops
    old_w.write_bytes(b"swapped!!!!")
    s = status(w, gate)
    assert s.active is None and "inspection stopped" in s.message


def test_trust_drop_stops_the_model(tmp_path):
    w = world(tmp_path)
    wf = tmp_path / "m.safetensors"
    wf.write_bytes(b"weights")
    ids = certify_all(w, weights_digest=build_manifest(wf).digest)
    trust_everyone(w)
    gate = ModelGate(Candidate(ids["model"], wf))
    assert status(w, gate).active is not None
    for r in ("aud1", "aud2", "aud3"):
        w.rate(r, ids["model"], 0, kind="cert")
    s = status(w, gate)
    assert s.active is None and "below the threshold" in s.message


def test_poisoned_dataset_at_the_station_refuses_the_model(tmp_path):
    w = world(tmp_path)
    wf, ds = tmp_path / "m.safetensors", tmp_path / "dataset"
    wf.write_bytes(b"weights")
    (ds / "crazing").mkdir(parents=True)
    (ds / "crazing" / "a.png").write_bytes(b"image a")
    ids = certify_all(w, dataset_digest=build_manifest(ds).digest, weights_digest=build_manifest(wf).digest)
    trust_everyone(w)
    gate = ModelGate(Candidate(ids["model"], wf, ((ids["dataset"], ds),)))
    assert status(w, gate).active is not None
    (ds / "crazing" / "b.png").write_bytes(b"poison")  # a file slipped in after certification
    s = status(w, gate)
    assert s.active is None and "dataset" in s.message and "do not match" in s.message


def test_station_gate_finds_the_model_certificate_by_its_weights(tmp_path):
    from app.paths import DataDir
    from app.station.model_gate import StationGate
    from ledger_core.chain import genesis as gen

    w = world(tmp_path)
    (tmp_path / "genesis.json").write_bytes(gen.dumps(w.chain.genesis))
    weights = tmp_path / "m.safetensors"
    weights.write_bytes(b"weights")
    gate = StationGate(DataDir(tmp_path), weights)
    st = gate.poll()
    assert st["active"] is None and "no active model certificate" in st["message"]
    assert gate.poll() is None  # nothing new at the same height
    ids = certify_all(w, weights_digest=build_manifest(weights).digest)
    trust_everyone(w)
    st = gate.poll()
    assert st["active"]["cert_id"] == ids["model"] and not st["verdict"]["reasons"]
    assert w.submit("trainer", "cert.revoke", {"cert_id": ids["model"], "reason": "drift"})[1] is None
    st = gate.poll()
    assert st["active"] is None and "no active model certificate" in st["message"]


def test_headless_inspect_on_a_ledger_is_gated(tmp_path, run_cli):
    """`bcmlp inspect` with a data dir that holds a ledger refuses an uncertified model (exit 1)
    and runs once the bundled model's certificate is on the ledger and trusted."""
    import resources
    from ledger_core.chain import genesis as gen

    w = world(tmp_path)
    (tmp_path / "genesis.json").write_bytes(gen.dumps(w.chain.genesis))
    w.block()
    samples = str(resources.path("samples", "images"))
    code, out, err = run_cli("inspect", "--source", samples, "--limit", "2", "--data-dir", str(tmp_path))
    assert code == 1 and "trust gate" in err and "no active model certificate" in err and out == ""
    weights = resources.path("model", "neu.safetensors")
    certify_all(w, weights_digest=build_manifest(weights).digest)
    trust_everyone(w)
    code, out, err = run_cli("inspect", "--source", samples, "--limit", "2", "--json", "--data-dir", str(tmp_path))
    assert code == 0, err
    assert len(out.strip().splitlines()) == 2


def test_unknown_certificate_reference_is_one_line(tmp_path, run_cli):
    from ledger_core.chain import genesis as gen

    w = world(tmp_path)
    (tmp_path / "genesis.json").write_bytes(gen.dumps(w.chain.genesis))
    w.block()
    weights = tmp_path / "m.safetensors"
    weights.write_bytes(b"weights")
    for args in (("gate", "deadbeefdeadbeef", str(weights)), ("revoke", "deadbeefdeadbeef", "--reason", "x")):
        code, out, err = run_cli(*args, "--data-dir", str(tmp_path))
        assert code == 2 and out == "", args
        assert err.strip() == "bcmlp: error: deadbeefdeadbeef: no such certificate on the ledger"


def test_headless_inspect_stops_when_the_model_is_revoked_mid_run(tmp_path, run_cli):
    """The gate is judged again at every new block during `bcmlp inspect`: a revocation committed
    while a paced replay runs stops it (exit 1, the height and reason in one line); the records
    inspected before stay, and the run's counts are still printed."""
    import threading
    import time

    import resources
    from app.paths import DataDir
    from app.station import services as svc
    from ledger_core.chain import genesis as gen

    w = world(tmp_path)
    (tmp_path / "genesis.json").write_bytes(gen.dumps(w.chain.genesis))
    weights = resources.path("model", "neu.safetensors")
    ids = certify_all(w, weights_digest=build_manifest(weights).digest)
    trust_everyone(w)
    revoked = threading.Event()

    def revoke_later():
        time.sleep(1.5)  # the replay is well under way by then
        assert w.submit("trainer", "cert.revoke", {"cert_id": ids["model"], "reason": "drift"})[1] is None
        revoked.set()

    t = threading.Thread(target=revoke_later)
    t.start()
    try:
        code, out, err = run_cli("inspect", "--source", str(resources.path("samples", "images")),
                                 "--rate", "20", "--loop", "--limit", "400", "--json",
                                 "--data-dir", str(tmp_path))
    finally:
        t.join()
    assert revoked.is_set()
    lines = out.strip().splitlines()
    assert code == 1 and 0 < len(lines) < 400, (code, len(lines), err)
    assert "does not pass the trust gate at height" in err and "no active model certificate" in err
    assert f"bcmlp: inspected {len(lines)} " in err
    records = svc.record_store(DataDir(tmp_path))
    try:
        assert records.count() == len(lines)
    finally:
        records.engine.dispose()
