"""The ledger commands: genesis create/validate, node --dev from an identity, chain verify, bench."""

from __future__ import annotations

import json
import os
import stat

import pytest
import sqlalchemy as sa

from app.db import make_engine
from app.identity import IdentityStore
from app.paths import DataDir
from ledger_core.chain import tx as txm
from ledger_core.chain.store import tables as t
from ledger_core.crypto.signing import Signer
from tests.support import nodeproc

PASS = "correct horse battery"


@pytest.fixture
def ident_dir(data_dir, run_cli, monkeypatch):
    monkeypatch.setenv("BCMLP_PASSPHRASE", PASS)
    code, _out, err = run_cli("init", "--org", "ACME Steel", "--role", "auditor", "--name", "Ada",
                              "--data-dir", str(data_dir))
    assert code == 0, err
    return data_dir


def test_genesis_create_and_validate(ident_dir, tmp_path, run_cli):
    code, out, err = run_cli("genesis", "create", "--data-dir", str(ident_dir), "--chain-name", "plant-7",
                             "--param", "trust_threshold_permille=650", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["organisations"] == 1 and info["participants"] == 2 and info["validators"] == 1
    assert info["params"]["trust_threshold_permille"] == 650
    assert stat.S_IMODE(os.stat(ident_dir / "keys" / "node.pem").st_mode) == 0o600
    code, out, _ = run_cli("genesis", "validate", str(ident_dir / "genesis.json"), "--json")
    assert code == 0 and json.loads(out)["chain_id"] == info["chain_id"]
    assert run_cli("genesis", "create", "--data-dir", str(ident_dir))[0] == 2  # exists
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1}')
    code, out, err = run_cli("genesis", "validate", str(bad))
    assert code == 2 and "missing field" in err and len(err.strip().splitlines()) == 1
    code, _o, err = run_cli("genesis", "create", "--data-dir", str(ident_dir), "--force", "--param", "nope=1")
    assert code == 2 and "unknown parameter" in err


def test_dev_node_from_identity_then_verify(ident_dir, run_cli):
    proc, cl = nodeproc.start(ident_dir)
    try:
        g = json.loads((ident_dir / "genesis.json").read_text())
        assert g["organisations"][0]["roles"] == ["auditor", "monitor", "operator", "trainer", "validator"]
        node_key = [p for p in g["participants"] if p["kind"] == "node"]
        assert len(node_key) == 1 and g["validators"] == [node_key[0]["key_id"]]
        for f in ("keys/node.pem", "node.sock"):
            assert stat.S_IMODE(os.stat(ident_dir / f).st_mode) == 0o600
        store = IdentityStore(DataDir(ident_dir))
        me = Signer.from_keypair(store.unlock(PASS))
        cert = {"cert": {"kind": "infrastructure", "subject": {"name": "neu", "version": "1", "digest": "a" * 64},
                         "lineage": [], "predicate": {"component": "camera"}, "valid_from": 0, "valid_until": None}}
        chain_id = cl.status()["chain_id"]
        ans = cl.submit(txm.make(me, chain_id, "cert.issue", 1, cert, 1), wait=True)
        assert ans["ok"], ans
    finally:
        assert nodeproc.stop(proc, cl) == 0
    code, out, err = run_cli("chain", "verify", "--data-dir", str(ident_dir), "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["ok"] and rep["transactions"] == 1 and rep["height"] >= 1
    code, out, _ = run_cli("chain", "verify", "--data-dir", str(ident_dir))
    assert code == 0 and out.startswith("chain ok")
    # tamper with the stored transaction: verify fails at its height, exit 1, one line
    engine = make_engine(f"sqlite:///{ident_dir / 'ledger.sqlite'}")
    with engine.begin() as conn:
        raw = conn.execute(sa.select(t.txs.c.raw)).scalar()
        conn.execute(sa.update(t.txs).values(raw=raw.replace(b'"neu"', b'"new"')))
    engine.dispose()
    code, out, err = run_cli("chain", "verify", "--data-dir", str(ident_dir), "--json")
    assert code == 1 and not json.loads(out)["ok"]
    assert f"failed at height {ans['height']}" in err


def test_node_needs_dev_flag_and_identity(data_dir, run_cli):
    code, _o, err = run_cli("node", "--data-dir", str(data_dir))
    assert code == 2 and "--dev" in err
    code, _o, err = run_cli("node", "--dev", "--data-dir", str(data_dir))
    assert code == 2 and "bcmlp init" in err
    code, _o, err = run_cli("chain", "verify", "--data-dir", str(data_dir))
    assert code == 2


@pytest.mark.slow
def test_bench_ledger_keeps_node_dir(tmp_path, run_cli):
    code, out, err = run_cli("bench", "ledger", "--nodes", "1", "--seconds", "1", "--rate-cap", "400",
                             "--data-dir", str(tmp_path), "--json")
    assert code == 0, err
    res = json.loads(out)
    for k in ("nodes", "tx_per_s", "commit_ms_p50", "commit_ms_p95", "height"):
        assert k in res
    assert res["committed"] > 0 and res["rejected"] == 0 and res["node_exit_code"] == 0
    assert (tmp_path / "node-1" / "genesis.json").exists() and (tmp_path / "node-1" / "ledger.sqlite").exists()
    code, out, _ = run_cli("chain", "verify", "--data-dir", str(tmp_path / "node-1"), "--json")
    assert code == 0 and json.loads(out)["transactions"] == res["committed"]


def test_genesis_from_several_members(tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("BCMLP_PASSPHRASE", PASS)
    dirs = {}
    for org, role in (("ACME Steel", "operator"), ("QC Labs", "auditor"), ("QC Labs", "monitor")):
        d = tmp_path / f"{org}-{role}".replace(" ", "_")
        assert run_cli("init", "--org", org, "--role", role, "--data-dir", str(d))[0] == 0
        dirs[role] = d
    out_file = tmp_path / "consortium.json"
    code, out, err = run_cli("genesis", "create", "--data-dir", str(dirs["operator"]), "--out", str(out_file),
                             "--member", str(dirs["operator"]), "--member", str(dirs["auditor"]),
                             "--member", str(dirs["monitor"]), "--validator", str(dirs["operator"]),
                             "--validator", str(dirs["auditor"]), "--json")
    assert code == 0, err
    info = json.loads(out)
    assert (info["organisations"], info["participants"], info["validators"]) == (2, 5, 2)
    body = json.loads(out_file.read_text())
    roles = {o["id"]: o["roles"] for o in body["organisations"]}
    assert roles == {"acme-steel": ["operator", "validator"], "qc-labs": ["auditor", "monitor", "validator"]}
    code, _o, err = run_cli("genesis", "create", "--data-dir", str(dirs["operator"]), "--out", str(tmp_path / "x.json"),
                            "--member", str(dirs["operator"]), "--validator", str(dirs["auditor"]))
    assert code == 2 and "not a member" in err
