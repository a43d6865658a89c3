"""Four separate data dirs made with the CLI (`init`, `genesis create` from several members and
validators) form one chain; the nodes find each other through zeroconf on 127.0.0.1 only."""

from __future__ import annotations

import json
import shutil

import pytest

from app.commands.cluster_procs import NodeProc, free_ports, stop_all
from tests.support.cluster import FAST, same_history, wait_heights

pytestmark = pytest.mark.slow


def test_cli_made_consortium_discovers_and_commits(tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("BCMLP_PASSPHRASE", "correct horse battery")
    dirs = []
    for i, (org, role) in enumerate((("ACME Steel", "operator"), ("QC Labs", "auditor"),
                                     ("Vision AG", "trainer"), ("PlantOps", "monitor"))):
        d = tmp_path / f"d{i + 1}"
        code, _o, err = run_cli("init", "--org", org, "--role", role, "--data-dir", str(d))
        assert code == 0, err
        dirs.append(d)
    args = sum([["--member", str(d), "--validator", str(d)] for d in dirs], [])
    code, out, err = run_cli("genesis", "create", *args, "--data-dir", str(dirs[0]), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["validators"] == 4
    for d in dirs[1:]:
        shutil.copy(dirs[0] / "genesis.json", d / "genesis.json")
    ports = free_ports(4)
    # discovery instead of static peers, on the loopback interface only
    procs = [NodeProc(d, ports[i], [], FAST, discovery=["127.0.0.1"]) for i, d in enumerate(dirs)]
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.wait_ready(60)
        wait_heights(procs, 3, 60)
        st = procs[0].status()
        assert st["chain_id"] == summary["chain_id"] and st["role"] == "validator"
        assert len(st["peers"]) == 3
        same_history(procs)
    finally:
        stop_all(procs)



def test_node_refuses_bad_setups(tmp_path, run_cli):
    from app.commands.bench_ledger_cmd import setup_consortium
    from ledger_core.crypto.keys import KeyPair, write_private_key

    _g, _d, roots = setup_consortium(tmp_path / "c", 4, 1)
    code, _o, err = run_cli("node", "--data-dir", str(roots[0]), "--listen", "nowhere")
    assert code == 2 and "--listen" in err
    code, _o, err = run_cli("node", "--data-dir", str(roots[0]), "--peer", "1.2.3.4:99999")
    assert code == 2 and "--peer" in err
    empty = tmp_path / "empty"
    code, _o, err = run_cli("node", "--data-dir", str(empty))
    assert code == 2 and "genesis" in err
    stranger = tmp_path / "stranger"
    (stranger / "keys").mkdir(parents=True, mode=0o700)
    (stranger / "genesis.json").write_bytes((roots[0] / "genesis.json").read_bytes())
    write_private_key(stranger / "keys" / "node.pem", KeyPair.generate(), None)
    code, _o, err = run_cli("node", "--data-dir", str(stranger), "--no-discovery")
    assert code == 2 and "not an active node" in err
