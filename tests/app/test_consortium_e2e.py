"""End to end on a 4-validator loopback consortium of four companies (separate node processes):
certify dataset, labels, pipeline, model; rate; the gate passes; inspect; anchor; verify one
record; the auditor suspends the dataset, the issuer confirms: revoked; the gate refuses the
model at the operator station."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.commands.cluster_procs import NodeProc, free_ports, stop_all
from app.paths import DataDir
from app.station.services import image_store, record_store
from inspection.records import InspectionRecord
from tests.support.cluster import FAST, wait_heights

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
CLASSES = ["crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches"]


def test_certify_rate_gate_anchor_revoke(tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("BCMLP_PASSPHRASE", "correct horse battery")
    companies = (("ACME Steel", "operator"), ("QC Labs", "auditor"), ("Vision AG", "trainer"),
                 ("PlantOps", "monitor"))
    dirs = []
    for i, (org, role) in enumerate(companies):
        d = tmp_path / f"d{i + 1}"
        assert run_cli("init", "--org", org, "--role", role, "--data-dir", str(d))[0] == 0
        dirs.append(d)
    args = sum([["--member", str(d), "--validator", str(d)] for d in dirs], [])
    code, _o, err = run_cli("genesis", "create", *args, "--data-dir", str(dirs[0]))
    assert code == 0, err
    for d in dirs[1:]:
        shutil.copy(dirs[0] / "genesis.json", d / "genesis.json")
    ports = free_ports(4)
    procs = [NodeProc(d, ports[i], [f"127.0.0.1:{p}" for j, p in enumerate(ports) if j != i], FAST)
             for i, d in enumerate(dirs)]
    op, aud, trainer, mon = dirs

    def cli(d, *a):
        code, out, err = run_cli(*a, "--data-dir", str(d))
        return code, out.strip(), err

    def settle():
        wait_heights(procs, max(p.status()["height"] for p in procs), 60)

    def ok(d, *a):
        code, out, err = cli(d, *a)
        assert code == 0, f"{a}: {out} {err}"
        settle()
        return out

    def key_of(d):
        return json.loads((d / "identity.json").read_text())["key_id"]

    try:
        for p in procs:
            p.start()
        for p in procs:
            p.wait_ready(60)
        wait_heights(procs, 1, 60)
        ds = tmp_path / "neu"
        for i, c in enumerate(CLASSES):
            (ds / c).mkdir(parents=True)
            (ds / c / f"{c}_0.png").write_bytes(bytes([i]) * 64)
        card = json.loads((REPO / "resources/model/neu.card.json").read_text())
        (tmp_path / "pre.json").write_text(json.dumps(card["preprocessing"]))
        (tmp_path / "p.json").write_text(json.dumps({"source_device": "line-1 camera"}))
        (tmp_path / "l.json").write_text(json.dumps({"classes": CLASSES, "count": 6, "method": "two annotators"}))
        mdir = tmp_path / "model"
        mdir.mkdir()
        for f in ("neu.safetensors", "neu.card.json"):
            shutil.copy(REPO / "resources/model" / f, mdir / f)
        weights = str(mdir / "neu.safetensors")

        ds_id = ok(op, "certify", "dataset", str(ds), "--predicate-file", str(tmp_path / "p.json"))
        pl_id = ok(op, "certify", "pipeline", str(tmp_path / "pre.json"))
        lb_id = ok(aud, "certify", "labels", str(ds), "--parent", ds_id, "--predicate-file", str(tmp_path / "l.json"))
        md_id = ok(trainer, "certify", "model", weights, "--parent", ds_id, "--parent", lb_id, "--parent", pl_id)
        # a labels certificate from a company without the auditor role is refused by the ledger
        code, _o, err = cli(op, "certify", "labels", str(ds), "--parent", ds_id, "--predicate-file",
                            str(tmp_path / "l.json"))
        assert code == 2 and "role_not_allowed" in err
        code, out, _ = cli(op, "gate", md_id, weights)
        assert code == 1 and "below the threshold" in out  # nobody vouched for anyone yet
        # one company alone cannot lift anybody over the threshold (its weight is capped at 0.4)
        ok(aud, "rate", key_of(trainer), "--score", "100", "--evidence", md_id)
        code, out, _ = cli(op, "trust", key_of(trainer), "--json")
        assert not json.loads(out)["passes"]
        # two companies vouch for each issuer
        for rater, subject, evidence in ((mon, trainer, md_id), (aud, op, ds_id), (mon, op, pl_id),
                                         (mon, aud, lb_id), (op, aud, lb_id)):
            ok(rater, "rate", key_of(subject), "--score", "100", "--evidence", evidence)
        code, out, _ = cli(op, "trust", md_id, "--json")
        assert code == 0 and json.loads(out)["passes"], out
        code, out, _ = cli(op, "gate", md_id, weights)
        assert code == 0 and "PASS" in out, out
        # inspect (records as the Operator station writes them), anchor, prove one record
        dd = DataDir(op)
        store, images = record_store(dd), image_store(dd)
        for i in range(4):
            store.add(InspectionRecord(f"wp-{i}", "order-1", "line-1", i, 1_700_000_000_000_000_000 + i,
                                       images.put(f"frame {i}".encode()), "m" * 64, card["preprocessing_digest"],
                                       {"crazing": 900, "scratches": 100}, 930, "OK", model_cert_id=md_id,
                                       pipeline_cert_id=pl_id))
        store.engine.dispose()
        ok(op, "anchor", "--station", "line-1")
        code, out, _ = cli(op, "verify", "record", "3")
        assert code == 0 and "VERIFIED" in out, out
        code, out, _ = cli(mon, "verify", md_id, "--json")  # another company's node agrees
        assert code == 0 and json.loads(out)["ok"]
        # the auditor of another company cannot revoke the dataset alone: it suspends it, and the
        # station refuses the model at the next block; the issuer's vote makes a majority of the
        # two organisations concerned (QC Labs, ACME Steel): revoked
        out = ok(aud, "revoke", ds_id, "--reason", "poisoned images found")
        assert out.startswith(f"suspended {ds_id}") and "confirm 1/2" in out, out
        code, out, _ = cli(op, "gate", md_id, weights)
        assert code == 1 and "REFUSED" in out and "poisoned images found" in out
        out = ok(op, "revoke", "--confirm", ds_id)
        assert "status: revoked: poisoned images found" in out, out
        code, out, _ = cli(trainer, "verify", md_id)
        assert code == 1 and f"[FAIL] lineage {ds_id[:16]}: not revoked" in out
    finally:
        stop_all(procs)
