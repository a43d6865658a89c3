"""Bad data directories and corrupt files: one line, exit 2, nothing overwritten."""

from __future__ import annotations

import json

import pytest

from app.settings import CURRENT_VERSION, Settings, SettingsError

PASS = "correct horse battery"


def one_error_line(err: str) -> bool:
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("bcmlp: error:") and "Traceback" not in err


def test_data_dir_is_a_file(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("BCMLP_PASSPHRASE", PASS)
    f = tmp_path / "file"
    f.write_text("x")
    code, _, err = run_cli("init", "--org", "A", "--role", "operator", "--data-dir", str(f))
    assert code == 2 and one_error_line(err) and "is a file" in err
    assert f.read_text() == "x"


def test_data_dir_cannot_be_created(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("BCMLP_PASSPHRASE", PASS)
    f = tmp_path / "file"
    f.write_text("x")
    code, _, err = run_cli("init", "--org", "A", "--role", "operator", "--data-dir", str(f / "sub"))
    assert code == 2 and one_error_line(err)


def test_data_dir_from_environment(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("BCMLP_PASSPHRASE", PASS)
    target = tmp_path / "via-env"
    monkeypatch.setenv("BCMLP_DATA_DIR", str(target))
    code, _, err = run_cli("init", "--org", "A", "--role", "operator")
    assert code == 0, err
    assert (target / "identity.json").exists()


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", json.dumps({"org": "A"}), "\xff\xfe", json.dumps({
        "org": "A", "name": "A", "role": "operator", "key_id": "00" * 32,
        "public_key": "11" * 32, "key_file": "keys/x.pem", "created": "now"})],
    ids=["syntax", "array", "missing-fields", "binary", "key-id-mismatch"],
)
def test_corrupt_identity_reported(run_cli, data_dir, content):
    path = data_dir / "identity.json"
    path.write_text(content, encoding="utf-8", errors="surrogateescape")
    before = path.read_bytes()
    code, _, err = run_cli("init", "--show", "--data-dir", str(data_dir))
    assert code == 2 and one_error_line(err) and "identity.json" in err
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", ["{bad", "42", json.dumps({"version": 99}), json.dumps({"version": 2, "theme": "purple"})])
def test_corrupt_settings_rejected_and_kept(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_text(content)
    with pytest.raises(SettingsError):
        Settings.load(path)
    settings, message = Settings.load_or_defaults(path)
    assert message and settings.read_only
    settings.set("theme", "light")  # read-only: must not write
    assert path.read_text() == content


def test_settings_migration_from_v1(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 1, "dark_mode": False, "geometry": "AAAA"}))
    settings = Settings.load(path)
    assert settings.get("theme") == "light"
    assert settings.get("window")["geometry"] == "AAAA"
    on_disk = json.loads(path.read_text())
    assert on_disk["version"] == CURRENT_VERSION and "dark_mode" not in on_disk


def test_wrong_passphrase_is_reported(data_dir):
    from app.identity import IdentityStore, PassphraseError
    from app.paths import DataDir

    store = IdentityStore(DataDir(data_dir))
    (data_dir / "keys").mkdir()
    store.create("A", "A", "operator", PASS)
    with pytest.raises(PassphraseError):
        store.unlock("wrong passphrase!")
