"""Key files under a passphrase (issue 14, finding 4): argon2id + XChaCha20-Poly1305 in the
`bcmlp-key/2` format, a strict bounded parser, and the migration of the old PBKDF2 PKCS#8 files."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock.atomic import write_bytes_atomic
from ledger_core.crypto import key_wrap
from ledger_core.crypto.keys import (
    KeyFileError,
    KeyPair,
    WrongPassphrase,
    read_private_key,
    write_private_key,
)

PASS = "correct horse battery"
MiB = 1024 * 1024
CHEAP = {"opslimit": 2, "memlimit": 19 * MiB}  # the floor: fast enough to fuzz


def write_legacy(path: Path, pair: KeyPair, passphrase: str) -> bytes:
    """A key file exactly as the old `encrypt_private_key` + `write_private_key` wrote it."""
    data = pair.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data, 0o600)
    return data


def fields(path: Path) -> dict:
    return json.loads(path.read_bytes())


def rewrite(path: Path, obj: dict) -> None:
    path.write_bytes(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode() + b"\n")


def one_line(exc: BaseException) -> bool:
    return "\n" not in str(exc) and bool(str(exc))


@pytest.fixture(scope="module")
def pair() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory, pair) -> bytes:
    """One file written by write_private_key at the policy limits (each write costs ~0.5 s)."""
    path = tmp_path_factory.mktemp("k") / "id.pem"
    write_private_key(path, pair, PASS)
    return path.read_bytes()


@pytest.fixture
def key_file(tmp_path, policy_file) -> Path:
    path = tmp_path / "keys" / "id.pem"
    path.parent.mkdir()
    write_bytes_atomic(path, policy_file, 0o600)
    return path


@pytest.fixture(scope="module")
def cheap_file(pair) -> bytes:
    return key_wrap.wrap(pair.seed, PASS, **CHEAP)


# --- the format and its parameters -----------------------------------------------------------


def test_round_trip(tmp_path, pair):
    path = tmp_path / "keys" / "id.pem"
    write_private_key(path, pair, PASS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fields(path)["format"] == "bcmlp-key/2"
    got = read_private_key(path, PASS)
    assert got.seed == pair.seed and got.key_id == pair.key_id
    assert path.read_bytes().endswith(b"\n") and b"PRIVATE KEY" not in path.read_bytes()


def test_file_parameters_are_argon2id_at_the_chosen_limits(key_file, pair):
    f = fields(key_file)  # read back with plain json, not the module's own parser
    assert set(f) == {"aead", "ciphertext", "format", "kdf", "key_id", "memlimit", "nonce",
                      "opslimit", "salt"}
    assert f["kdf"] == "argon2id" and f["aead"] == "xchacha20poly1305-ietf"
    # libsodium INTERACTIVE: 2 passes over 64 MiB; OWASP's argon2id minimum is t=2, m=19 MiB
    assert f["opslimit"] == 2 and f["memlimit"] == 64 * MiB
    assert f["opslimit"] >= 2 and f["memlimit"] >= 19 * MiB
    assert len(bytes.fromhex(f["salt"])) == 16 and len(bytes.fromhex(f["nonce"])) == 24
    assert len(bytes.fromhex(f["ciphertext"])) == 32 + 16  # the raw seed and the Poly1305 tag
    assert f["key_id"] == pair.key_id
    assert pair.seed.hex() not in key_file.read_text()


def test_fresh_salt_and_nonce_per_file(pair):
    a, b = (json.loads(key_wrap.wrap(pair.seed, PASS, **CHEAP)) for _ in range(2))
    assert all(a[k] != b[k] for k in ("salt", "nonce", "ciphertext"))


def test_wrong_passphrase(key_file):
    with pytest.raises(WrongPassphrase) as info:
        read_private_key(key_file, "not the passphrase")
    assert one_line(info.value) and "wrong passphrase" in str(info.value)
    with pytest.raises(WrongPassphrase, match="passphrase is needed"):
        read_private_key(key_file, None)
    with pytest.raises(WrongPassphrase):
        read_private_key(key_file, "lone \udc80 surrogate")  # no UTF-8 form: no traceback


def test_header_is_authenticated(tmp_path, cheap_file):
    """The key id and parameters are associated data: changing them breaks the seal."""
    path = tmp_path / "k.pem"
    path.write_bytes(cheap_file)
    f = fields(path)
    rewrite(path, {**f, "key_id": "ab" * 32})
    with pytest.raises(WrongPassphrase):
        read_private_key(path, PASS, migrate=False)


def test_unencrypted_files_stay_plain_pkcs8(tmp_path, pair):
    path = tmp_path / "node.pem"
    write_private_key(path, pair, None)
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert read_private_key(path, None).key_id == pair.key_id


# --- strict, bounded parsing -------------------------------------------------------------------


def _mutations(f: dict) -> dict[str, bytes]:
    def enc(obj) -> bytes:
        return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode() + b"\n"

    good = enc(f)
    return {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "no-final-newline": good[:-1],
        "not-canonical": json.dumps(f, sort_keys=True, indent=1).encode() + b"\n",
        "duplicate-key": good[:-2] + b',"kdf":"argon2id"}\n',
        "array": b"[1,2]\n",
        "binary": b"{\xff\xfe\x00",
        "oversized-json": enc({**f, "pad": "x" * 5000}),
        "oversized-file": b"{" + b" " * (70 * 1024),
        "unknown-field": enc({**f, "extra": 1}),
        "missing-field": enc({k: v for k, v in f.items() if k != "salt"}),
        "future-format": enc({**f, "format": "bcmlp-key/3"}),
        "other-kdf": enc({**f, "kdf": "pbkdf2"}),
        "other-aead": enc({**f, "aead": "aes-gcm"}),
        "memlimit-absurd": enc({**f, "memlimit": 64 * 1024 * MiB}),
        "memlimit-huge-int": enc({**f, "memlimit": 2**62}),
        "memlimit-tiny": enc({**f, "memlimit": 8 * MiB}),
        "memlimit-not-kib": enc({**f, "memlimit": 256 * MiB + 1}),
        "memlimit-negative": enc({**f, "memlimit": -1}),
        "opslimit-1": enc({**f, "opslimit": 1}),
        "opslimit-absurd": enc({**f, "opslimit": 10**6}),
        "opslimit-string": enc({**f, "opslimit": "3"}),
        "opslimit-bool": enc({**f, "opslimit": True}),
        "opslimit-float": good.replace(b'"opslimit":2', b'"opslimit":2.0'),
        "salt-short": enc({**f, "salt": f["salt"][:-2]}),
        "nonce-upper": enc({**f, "nonce": f["nonce"].upper()}),
        "ciphertext-short": enc({**f, "ciphertext": f["ciphertext"][:64]}),
        "key-id-not-hex": enc({**f, "key_id": "zz" * 32}),
    }


# the case names; each test builds the bytes from its own real file
MUTATIONS = sorted(_mutations(dict.fromkeys(key_wrap.FIELDS, "00")))


@pytest.mark.parametrize("case", MUTATIONS)
def test_malformed_files_are_refused_before_any_kdf(tmp_path, key_file, case, monkeypatch):
    data = _mutations(fields(key_file))[case]
    path = tmp_path / "bad.pem"
    path.write_bytes(data)

    def no_kdf(*_a, **_k):
        raise AssertionError("the KDF ran on a malformed file")

    monkeypatch.setattr(key_wrap.argon2id, "kdf", no_kdf)
    with pytest.raises(KeyFileError) as info:
        read_private_key(path, PASS)
    assert type(info.value) is KeyFileError, info.value  # malformed, not "wrong passphrase"
    assert one_line(info.value)
    assert path.read_bytes() == data


def test_limits_are_refused_by_the_writer_too(pair):
    with pytest.raises(key_wrap.WrapError):
        key_wrap.wrap(pair.seed, PASS, opslimit=2, memlimit=4096 * MiB)
    with pytest.raises(key_wrap.WrapError):
        key_wrap.wrap(pair.seed, PASS, opslimit=1, memlimit=64 * MiB)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2048))
def test_fuzz_parse_arbitrary_bytes(data):
    try:
        w = key_wrap.parse(data)
    except key_wrap.WrapError as exc:
        assert one_line(exc)
    else:
        assert 2 <= w.opslimit <= 10 and 19 * MiB <= w.memlimit <= 1024 * MiB


_VALUES = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1), st.text(max_size=100), st.booleans(),
    st.none(), st.lists(st.integers(), max_size=3),
)


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(key_wrap.FIELDS) + ["x"]), _VALUES, max_size=10))
def test_fuzz_parse_json_objects(obj):
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        key_wrap.parse(data + b"\n")
    except key_wrap.WrapError as exc:
        assert one_line(exc)


_PEM_HEADS = [b"", b"{", b"-----BEGIN PRIVATE KEY-----\n",
              b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n", b"-----BEGIN RSA PRIVATE KEY-----\n"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_PEM_HEADS), st.binary(max_size=600), st.sampled_from([None, "", PASS]))
def test_fuzz_any_file_gives_key_file_error(tmp_path, head, body, passphrase):
    """Whatever the bytes (JSON-like, PEM-like, garbage) and passphrase: a one-line KeyFileError."""
    path = tmp_path / "any.pem"
    path.write_bytes(head + body)
    with pytest.raises(KeyFileError) as info:
        read_private_key(path, passphrase)
    assert one_line(info.value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_mutated_files_give_key_file_error(tmp_path, cheap_file, pair, data):
    """Byte flips, cuts and insertions in a real file: a one-line KeyFileError, never a traceback,
    never a different key."""
    raw = bytearray(cheap_file)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw)))
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if op == "flip" and at < len(raw):
            raw[at] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del raw[at:]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    path = tmp_path / "fuzz.pem"
    path.write_bytes(bytes(raw))
    try:
        got = read_private_key(path, PASS, migrate=False)
    except KeyFileError as exc:
        assert one_line(exc)
    else:
        assert got.key_id == pair.key_id


# --- migration of old files ---------------------------------------------------------------------


def test_old_pbkdf2_file_opens_and_is_migrated(tmp_path, pair, caplog):
    path = tmp_path / "keys" / "identity.pem"
    old = write_legacy(path, pair, PASS)
    assert b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in old
    with caplog.at_level(logging.INFO, logger="bcmlp.keys"):
        got = read_private_key(path, PASS)
    assert got.key_id == pair.key_id
    f = fields(path)  # the file changed format, same key
    assert f["format"] == "bcmlp-key/2" and f["key_id"] == pair.key_id
    assert f["kdf"] == "argon2id" and f["opslimit"] == 2 and f["memlimit"] == 64 * MiB
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the old weak scheme is gone: no copy beside it, and the file is no PKCS#8 PEM any more
    assert [p.name for p in path.parent.iterdir()] == ["identity.pem"]
    assert b"ENCRYPTED PRIVATE KEY" not in path.read_bytes()
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(path.read_bytes(), password=PASS.encode())
    assert any("migrated" in r.getMessage() and pair.key_id[:16] in r.getMessage()
               for r in caplog.records)
    assert read_private_key(path, PASS).key_id == pair.key_id
    before = path.read_bytes()  # a second unlock leaves it alone
    read_private_key(path, PASS)
    assert path.read_bytes() == before


def test_old_file_with_wrong_passphrase_is_not_touched(tmp_path, pair):
    path = tmp_path / "identity.pem"
    old = write_legacy(path, pair, PASS)
    for wrong in ("not the passphrase", "lone \udc80 surrogate"):
        with pytest.raises(WrongPassphrase):
            read_private_key(path, wrong)
    assert path.read_bytes() == old


def test_failed_migration_keeps_the_unlock(tmp_path, pair, monkeypatch, caplog):
    path = tmp_path / "identity.pem"
    old = write_legacy(path, pair, PASS)

    def refuse(*_a, **_k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("ledger_core.crypto.keys.write_bytes_atomic", refuse)
    with caplog.at_level(logging.WARNING, logger="bcmlp.keys"):
        assert read_private_key(path, PASS).key_id == pair.key_id
    assert path.read_bytes() == old
    assert any("cannot rewrite" in r.getMessage() for r in caplog.records)


def test_weaker_argon2id_limits_are_raised_on_unlock(tmp_path, cheap_file, pair):
    path = tmp_path / "identity.pem"
    write_bytes_atomic(path, cheap_file, 0o600)
    assert fields(path)["memlimit"] == 19 * MiB
    assert read_private_key(path, PASS).key_id == pair.key_id
    f = fields(path)
    assert f["opslimit"] == 2 and f["memlimit"] == 64 * MiB and f["key_id"] == pair.key_id
