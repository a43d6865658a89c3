"""`bcmlp init`: encrypted identity key, refusal to overwrite, bad input."""

from __future__ import annotations

import json
import stat

import pytest

from app.identity import IdentityStore
from app.paths import DataDir
from ledger_core.crypto.keys import WrongPassphrase, read_private_key

PASS = "correct horse battery"


@pytest.fixture
def with_passphrase(monkeypatch):
    monkeypatch.setenv("BCMLP_PASSPHRASE", PASS)


def test_init_creates_encrypted_key(run_cli, data_dir, with_passphrase):
    code, out, err = run_cli("init", "--org", "Acme Steel", "--role", "operator", "--data-dir", str(data_dir))
    assert code == 0, err
    ident = json.loads((data_dir / "identity.json").read_text())
    assert ident["org"] == "Acme Steel" and ident["role"] == "operator"
    key_file = data_dir / ident["key_file"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    pem = key_file.read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert read_private_key(key_file, PASS).key_id == ident["key_id"]
    with pytest.raises(WrongPassphrase):
        read_private_key(key_file, "not the passphrase")
    assert ident["key_id"] in out


def test_second_init_refused_without_force(run_cli, data_dir, with_passphrase):
    assert run_cli("init", "--org", "A", "--role", "trainer", "--data-dir", str(data_dir))[0] == 0
    before = (data_dir / "identity.json").read_bytes()
    code, out, err = run_cli("init", "--org", "B", "--role", "auditor", "--data-dir", str(data_dir))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "already exists" in err
    assert (data_dir / "identity.json").read_bytes() == before


def test_force_replaces_and_keeps_old(run_cli, data_dir, with_passphrase):
    run_cli("init", "--org", "A", "--role", "trainer", "--data-dir", str(data_dir))
    old = json.loads((data_dir / "identity.json").read_text())
    code, _, err = run_cli("init", "--org", "B", "--role", "auditor", "--force", "--data-dir", str(data_dir))
    assert code == 0, err
    new = json.loads((data_dir / "identity.json").read_text())
    assert new["key_id"] != old["key_id"]
    kept = list(data_dir.glob("identity.*.replaced.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["key_id"] == old["key_id"]
    assert (data_dir / old["key_file"]).exists()


def test_wrong_role_is_one_line(run_cli, data_dir, with_passphrase):
    code, out, err = run_cli("init", "--org", "A", "--role", "boss", "--data-dir", str(data_dir))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "boss" in err
    assert not (data_dir / "identity.json").exists()


def test_show(run_cli, data_dir, with_passphrase):
    run_cli("init", "--org", "A", "--role", "monitor", "--data-dir", str(data_dir))
    code, out, _ = run_cli("init", "--show", "--json", "--data-dir", str(data_dir))
    assert code == 0
    info = json.loads(out)
    assert info["role"] == "monitor" and len(info["key_id"]) == 64


def test_passphrase_file(run_cli, data_dir, tmp_path):
    pf = tmp_path / "pass.txt"
    pf.write_text("from a file 123\n")
    code, _, err = run_cli("init", "--org", "A", "--role", "operator", "--passphrase-file", str(pf), "--data-dir", str(data_dir))
    assert code == 0, err
    store = IdentityStore(DataDir(data_dir))
    assert store.unlock("from a file 123").key_id == store.load().key_id


def test_no_passphrase_without_terminal(run_cli, data_dir, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _, err = run_cli("init", "--org", "A", "--role", "operator", "--data-dir", str(data_dir))
    assert code == 2 and "passphrase" in err


def test_short_passphrase_refused(run_cli, data_dir, monkeypatch):
    monkeypatch.setenv("BCMLP_PASSPHRASE", "short")
    code, _, err = run_cli("init", "--org", "A", "--role", "operator", "--data-dir", str(data_dir))
    assert code == 2 and "at least 8" in err
    assert not (data_dir / "identity.json").exists()


def test_check_passphrase(run_cli, data_dir, with_passphrase, monkeypatch):
    run_cli("init", "--org", "A", "--role", "operator", "--data-dir", str(data_dir))
    code, out, _ = run_cli("init", "--show", "--check-passphrase", "--data-dir", str(data_dir))
    assert code == 0 and "key_unlocked" in out
    monkeypatch.setenv("BCMLP_PASSPHRASE", "a wrong passphrase")
    code, out, err = run_cli("init", "--show", "--check-passphrase", "--data-dir", str(data_dir))
    assert code == 2 and "wrong passphrase" in err and len(err.strip().splitlines()) == 1
