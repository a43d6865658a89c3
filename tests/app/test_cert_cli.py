"""certify / verify / rate / trust / revoke on a real `bcmlp node --dev`, and offline bundles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import sqlalchemy as sa

from app.identity import IdentityStore
from app.paths import DataDir
from ledger_core.chain import tx as txm
from ledger_core.crypto.signing import Signer
from ledger_core.node.client import NodeClient
from tests.app.conftest import PASSPHRASE

REPO = Path(__file__).resolve().parents[2]
CLASSES = ["crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches"]


def _json(tmp: Path, name: str, obj) -> Path:
    p = tmp / name
    p.write_text(json.dumps(obj))
    return p


def test_certify_verify_rate_revoke(node_dir, tmp_path, run_cli):
    d = ["--data-dir", str(node_dir)]
    ds = tmp_path / "neu"
    for i, c in enumerate(CLASSES):
        (ds / c).mkdir(parents=True)
        for j in range(2):
            (ds / c / f"{c}_{j}.png").write_bytes(bytes([i, j]) * 100)
    card = json.loads((REPO / "resources/model/neu.card.json").read_text())
    mdir = tmp_path / "model"
    mdir.mkdir()
    for f in ("neu.safetensors", "neu.card.json"):
        shutil.copy(REPO / "resources/model" / f, mdir / f)

    def certify(*args):
        code, out, err = run_cli("certify", *args, *d)
        assert code == 0, err
        return out.strip()

    ds_id = certify("dataset", str(ds), "--predicate-file", str(_json(tmp_path, "p.json", {"source_device": "cam-1"})))
    code, out, err = run_cli("certify", "dataset", str(ds), *d)
    assert code == 2 and "source_device" in err  # the predicate is checked before anything is signed
    lb_id = certify("labels", str(ds), "--parent", ds_id[:12], "--predicate-file",
                    str(_json(tmp_path, "l.json", {"classes": CLASSES, "count": 12, "method": "folder names"})))
    pl_id = certify("pipeline", str(_json(tmp_path, "pre.json", card["preprocessing"])))
    md_id = certify("model", str(mdir / "neu.safetensors"), "--parent", ds_id, "--parent", lb_id, "--parent", pl_id)

    code, out, err = run_cli("verify", md_id, "--json", *d, "--export-bundle", str(tmp_path / "b.json"))
    assert code == 0, out + err
    rep = json.loads(out)
    assert rep["ok"] and {"issuer signature", "issuer role", "commit", "inclusion", "not revoked", "validity",
                          "trust", "lineage"} <= {c["check"] for c in rep["checks"]}
    code, out, _ = run_cli("verify", str(mdir / "neu.safetensors"), *d)
    assert code == 0 and "VERIFIED" in out and "[ok] files" in out
    code, out, err = run_cli("gate", md_id, str(mdir / "neu.safetensors"), "--json", *d)
    assert code == 0 and json.loads(out)["active"]["cert_id"] == md_id, out + err
    code, out, err = run_cli("verify", "--bundle", str(tmp_path / "b.json"), "--genesis", str(node_dir / "genesis.json"))
    assert code == 0, out + err
    # offline: the proven checks, and apart the exporter's statements (never "VERIFIED")
    head, rest = out.split("  not provable offline", 1)
    assert head.startswith("bundle b.json: PROVEN\n  proven:\n") and "VERIFIED" not in out
    assert "[ok] commit" in head and "[ok] issuer role" in head and "not revoked" not in head
    assert "[stated ok] not revoked" in rest and "[stated ok] trust" in rest
    code, out, err = run_cli("verify", "--bundle", str(tmp_path / "b.json"), "--genesis",
                             str(node_dir / "genesis.json"), "--json")
    rep = json.loads(out)
    assert code == 0 and rep["verdict"] == "proven" and rep["ok"], out + err
    assert {"not revoked", "trust", "issuer key not revoked"} <= {c["check"] for c in rep["unproven"]}
    assert all(c["proven"] for c in rep["checks"]) and not any(c["proven"] for c in rep["unproven"])

    # data poisoning: a file added to the certified dataset
    (ds / "crazing" / "extra.png").write_bytes(b"poison")
    assert run_cli("verify", str(ds), *d)[0] == 1
    code, out, _ = run_cli("verify", str(ds), "--cert", ds_id, *d)
    assert code == 1 and "[FAIL] files" in out
    # swapped weights
    (mdir / "neu.safetensors").write_bytes((mdir / "neu.safetensors").read_bytes()[:-4] + b"\0\0\0\0")
    code, out, _ = run_cli("verify", str(mdir / "neu.safetensors"), "--cert", md_id, *d)
    assert code == 1 and "[FAIL] files" in out

    # ratings: no self-ratings; trust explains itself
    code, _o, err = run_cli("rate", md_id, "--score", "90", "--evidence", md_id, *d)
    assert code == 2 and "self_rating" in err
    code, out, _ = run_cli("trust", md_id, "--json", *d)
    t = json.loads(out)
    assert code == 0 and t["kind"] == "cert" and t["opinion"]["uncertainty_ppm"] == 1_000_000

    code, _o, err = run_cli("revoke", ds_id, "--confirm", *d)
    assert code == 2 and "not_suspended" in err and len(err.strip().splitlines()) == 1
    assert run_cli("revoke", ds_id, "--confirm", "--lift", *d)[0] == 2
    assert run_cli("revoke", ds_id, "--lift", "--reason", "x", *d)[0] == 2
    assert run_cli("revoke", ds_id, *d)[0] == 2  # no --reason
    code, out, err = run_cli("revoke", ds_id, "--reason", "poisoned", *d)  # the issuer: in scope
    assert code == 0 and out.startswith(f"revoked {ds_id} at height ") and "status: revoked: poisoned" in out, err
    me = Signer.from_keypair(IdentityStore(DataDir(node_dir)).unlock(PASSPHRASE))
    with NodeClient(node_dir / "node.sock") as cl:
        rep = txm.make(me, cl.status()["chain_id"], "monitor.report", cl.next_nonce(me.key_id),
                       {"component": "camera-1", "status": "degraded", "metrics": {"fps": 9}, "about": md_id}, 1)
        assert cl.submit(rep, wait=True)["ok"]
    code, out, _ = run_cli("reports", "--json", *d)
    got = json.loads(out)["reports"]
    assert code == 0 and [(r["component"], r["status"], r["about"]) for r in got] == [("camera-1", "degraded", md_id)]
    code, out, _ = run_cli("verify", md_id, *d)
    assert code == 1 and f"[FAIL] lineage {ds_id[:16]}: not revoked" in out
    code, out, _ = run_cli("gate", md_id, str(tmp_path / "pre.json"), *d)
    assert code == 1 and "REFUSED" in out and "revoked: poisoned" in out
    assert run_cli("verify", "f" * 64, *d)[0] == 2
    (tmp_path / "junk.json").write_text("{")
    code, _o, err = run_cli("verify", "--bundle", str(tmp_path / "junk.json"), "--genesis", str(node_dir / "genesis.json"))
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_anchor_and_verify_record(node_dir, run_cli):
    from app.station.services import image_store, record_store
    from inspection.records import InspectionRecord

    d = ["--data-dir", str(node_dir)]
    dd = DataDir(node_dir)
    store, images = record_store(dd), image_store(dd)
    for i in range(3):
        store.add(InspectionRecord(f"wp-{i}", "o-1", "cam", i, 1_700_000_000_000_000_000 + i,
                                   images.put(f"image {i}".encode()), "m" * 64, "p" * 64, {"crazing": 1000},
                                   900, "OK"))
    code, out, err = run_cli("verify", "record", "2", *d)
    assert code == 1 and "[FAIL] anchored" in out
    code, out, err = run_cli("anchor", "--station", "line-1", "--json", *d)
    assert code == 0, err
    assert [b["count"] for b in json.loads(out)["batches"]] == [3]
    code, out, _ = run_cli("anchor", *d)
    assert code == 0 and "nothing to anchor" in out
    code, out, _ = run_cli("verify", "record", "2", "--json", *d)
    rep = json.loads(out)
    checks = {c["check"]: c["ok"] for c in rep["checks"]}
    # the records name no model certificate (inspected before one existed): everything else holds
    assert code == 1 and checks.pop("model certificate") is False and all(checks.values()), rep
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE inspection_records SET verdict='NOK' WHERE id=2"))
    code, out, _ = run_cli("verify", "record", "2", *d)
    assert code == 1 and "[FAIL] record digest" in out
    assert run_cli("verify", "record", "x", *d)[0] == 2
    store.engine.dispose()
