"""`bcmlp init`: encrypted identity key (argon2id, `bcmlp-key/2`), the passphrase policy, the
migration of old PBKDF2 key files, refusal to overwrite, bad input."""

from __future__ import annotations

import json
import stat

import pytest
from cryptography.hazmat.primitives import serialization

from app.identity import IdentityStore
from app.paths import DataDir
from bedrock.atomic import write_bytes_atomic
from ledger_core.crypto.keys import KeyPair, WrongPassphrase, read_private_key

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
    wrapped = json.loads(key_file.read_bytes())
    assert wrapped["format"] == "bcmlp-key/2" and wrapped["kdf"] == "argon2id"
    assert wrapped["opslimit"] >= 2 and wrapped["memlimit"] >= 64 * 1024 * 1024
    assert wrapped["key_id"] == ident["key_id"]
    assert read_private_key(key_file, PASS).key_id == ident["key_id"]
    with pytest.raises(WrongPassphrase):
        read_private_key(key_file, "not the passphrase")
    assert ident["key_id"] in out and "passphrase: strong" in out


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
    assert code == 2 and "at least 12" in err and len(err.strip().splitlines()) == 1
    assert not (data_dir / "identity.json").exists()


@pytest.mark.parametrize(
    "weak", ["password1234", "abcdefghij", "Summer2024!!", "aaaaaaaaaaaaaaaa", "123456789012"]
)
def test_weak_passphrase_refused(run_cli, data_dir, monkeypatch, tmp_path, weak):
    """Each of these passed the old 8-character minimum."""
    monkeypatch.setenv("BCMLP_PASSPHRASE", weak)
    code, out, err = run_cli("init", "--org", "A", "--role", "operator", "--data-dir", str(data_dir))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "passphrase refused" in lines[0], err
    assert "Traceback" not in err and not (data_dir / "identity.json").exists()
    assert not list(data_dir.glob("keys/*"))
    pf = tmp_path / "weak.txt"
    pf.write_text(weak + "\n")
    code, _, err = run_cli("init", "--org", "A", "--role", "operator", "--passphrase-file", str(pf),
                           "--data-dir", str(data_dir))
    assert code == 2 and "passphrase refused" in err and len(err.strip().splitlines()) == 1


def test_fair_passphrase_accepted_with_hint(run_cli, data_dir, monkeypatch):
    monkeypatch.setenv("BCMLP_PASSPHRASE", "mountainlake")
    code, out, err = run_cli("init", "--org", "A", "--role", "operator", "--data-dir", str(data_dir))
    assert code == 0, err
    assert "passphrase: fair: " in out


def test_check_passphrase(run_cli, data_dir, with_passphrase, monkeypatch):
    run_cli("init", "--org", "A", "--role", "operator", "--data-dir", str(data_dir))
    code, out, _ = run_cli("init", "--show", "--check-passphrase", "--data-dir", str(data_dir))
    assert code == 0 and "key_unlocked" in out
    monkeypatch.setenv("BCMLP_PASSPHRASE", "a wrong passphrase")
    code, out, err = run_cli("init", "--show", "--check-passphrase", "--data-dir", str(data_dir))
    assert code == 2 and "wrong passphrase" in err and len(err.strip().splitlines()) == 1


def test_old_key_file_migrated_on_check(run_cli, data_dir, with_passphrase):
    """An identity key written by the old code (PKCS#8, BestAvailableEncryption: PBKDF2-SHA256,
    2,048 iterations) still unlocks, and the unlock re-writes it as argon2id `bcmlp-key/2`."""
    assert run_cli("init", "--org", "A", "--role", "operator", "--data-dir", str(data_dir))[0] == 0
    store = IdentityStore(DataDir(data_dir))
    ident = store.load()
    pair = store.unlock(PASS)
    key_file = store.key_path(ident)
    old = pair.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASS.encode("utf-8")),
    )
    write_bytes_atomic(key_file, old, 0o600)
    code, out, _ = run_cli("init", "--show", "--json", "--data-dir", str(data_dir))
    assert code == 0 and json.loads(out)["key_format"] == "pkcs8-pbkdf2"
    code, out, err = run_cli("init", "--show", "--check-passphrase", "--json",
                             "--data-dir", str(data_dir))
    assert code == 0, err
    info = json.loads(out)
    assert info["key_format"] == "bcmlp-key/2"
    assert info["key_migrated"] == "pkcs8-pbkdf2 -> bcmlp-key/2"
    wrapped = json.loads(key_file.read_bytes())
    assert wrapped["format"] == "bcmlp-key/2" and wrapped["key_id"] == ident.key_id
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" not in key_file.read_bytes()
    assert [p.name for p in key_file.parent.iterdir()] == [key_file.name]
    assert "migrated" in (data_dir / "logs" / "bcmlp.log").read_text()
    assert store.unlock(PASS).key_id == ident.key_id == KeyPair.from_seed(pair.seed).key_id
    code, out, _ = run_cli("init", "--show", "--check-passphrase", "--json",
                           "--data-dir", str(data_dir))
    assert code == 0 and "key_migrated" not in json.loads(out)
