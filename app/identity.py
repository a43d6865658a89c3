"""The local identity: organisation, person, role and an Ed25519 key encrypted at rest.

identity.json names the key file under keys/; the key itself is a `bcmlp-key/2` file sealed under
the passphrase (argon2id + XChaCha20-Poly1305: `ledger_core/crypto/key_wrap.py`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from app.errors import UserError
from app.paths import DataDir
from bedrock.atomic import read_json_object, write_json_atomic
from ledger_core.crypto.keys import (
    KeyPair,
    WrongPassphrase,
    read_private_key,
    write_private_key,
)
from ledger_core.crypto.passphrase_policy import WeakPassphrase, require_acceptable

ROLES = ("operator", "trainer", "auditor", "monitor")
IDENTITY_VERSION = 1
MAX_IDENTITY_BYTES = 64 * 1024
ENV_PASSPHRASE = "BCMLP_PASSPHRASE"
_NAME_RE = re.compile(r"^[^\x00-\x1f]{1,100}$")


class IdentityError(UserError):
    """identity.json or its key cannot be used."""


class IdentityExists(IdentityError):
    pass


class PassphraseError(IdentityError):
    pass


@dataclass(frozen=True)
class Identity:
    org: str
    name: str
    role: str
    key_id: str
    public_key: str  # hex of the raw 32 bytes
    key_file: str  # relative to the data directory
    created: str
    version: int = IDENTITY_VERSION

    def describe(self) -> dict[str, str]:
        return {
            "organisation": self.org,
            "name": self.name,
            "role": self.role,
            "key_id": self.key_id,
            "public_key": self.public_key,
            "created": self.created,
        }


def validate_fields(org: str, name: str, role: str) -> None:
    if role not in ROLES:
        raise IdentityError(f"role {role!r} is not one of {', '.join(ROLES)}")
    for label, value in (("organisation", org), ("name", name)):
        if not value or not value.strip() or not _NAME_RE.match(value):
            raise IdentityError(f"{label} must be 1 to 100 printable characters")


def validate_passphrase(passphrase: str) -> None:
    """The key-file passphrase policy (`passphrase_policy`: at least 12 characters, not weak)."""
    try:
        require_acceptable(passphrase)
    except WeakPassphrase as exc:
        raise PassphraseError(str(exc)) from None


class IdentityStore:
    """Reads and writes the identity of one data directory."""

    def __init__(self, data_dir: DataDir) -> None:
        self.dd = data_dir

    def exists(self) -> bool:
        return self.dd.identity_file.exists()

    def load(self) -> Identity:
        path = self.dd.identity_file
        if not path.exists():
            raise IdentityError(f"no identity in {self.dd.root}: run `bcmlp init --org NAME --role ROLE`")
        raw = read_json_object(path, MAX_IDENTITY_BYTES, IdentityError)
        fields = set(Identity.__dataclass_fields__)
        missing = fields - set(raw) - {"version"}
        if missing:
            raise IdentityError(f"{path} is corrupt (missing {', '.join(sorted(missing))})")
        if raw.get("version", 1) != IDENTITY_VERSION:
            raise IdentityError(f"{path} has unsupported version {raw.get('version')!r}")
        if not all(isinstance(raw[k], str) for k in fields - {"version"}):
            raise IdentityError(f"{path} is corrupt (fields must be strings)")
        ident = Identity(**{k: raw[k] for k in fields if k in raw})
        try:
            validate_fields(ident.org, ident.name, ident.role)
        except IdentityError as exc:
            raise IdentityError(f"{path} is corrupt ({exc})") from None
        if not re.fullmatch(r"[0-9a-f]{64}", ident.public_key) or not re.fullmatch(
            r"[0-9a-f]{64}", ident.key_id
        ):
            raise IdentityError(f"{path} is corrupt (bad public key or key id)")
        from ledger_core.crypto.keys import key_id

        if key_id(bytes.fromhex(ident.public_key)) != ident.key_id:
            raise IdentityError(f"{path} is corrupt (key id does not match the public key)")
        if Path(ident.key_file).is_absolute() or ".." in Path(ident.key_file).parts:
            raise IdentityError(f"{path} is corrupt (key file must be inside the data directory)")
        return ident

    def key_path(self, ident: Identity) -> Path:
        return self.dd.root / ident.key_file

    def unlock(self, passphrase: str | None, ident: Identity | None = None) -> KeyPair:
        """Decrypt the identity's key; PassphraseError on a wrong passphrase (a KeyFileError when
        the key file itself is unusable)."""
        ident = ident or self.load()
        try:
            pair = read_private_key(self.key_path(ident), passphrase)
        except WrongPassphrase as exc:
            raise PassphraseError(str(exc)) from None
        if pair.key_id != ident.key_id:
            raise IdentityError("the key file does not match identity.json (different key id)")
        return pair

    def create(self, org: str, name: str, role: str, passphrase: str, force: bool = False) -> Identity:
        validate_fields(org, name, role)
        validate_passphrase(passphrase)
        if self.exists() and not force:
            raise IdentityExists(
                f"an identity already exists in {self.dd.root} (use --force to replace it)"
            )
        pair = KeyPair.generate()
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        if self.exists():
            self._keep_old(stamp)
        key_rel = f"keys/identity-{pair.key_id[:16]}.pem"
        write_private_key(self.dd.root / key_rel, pair, passphrase)
        ident = Identity(
            org=org.strip(),
            name=name.strip(),
            role=role,
            key_id=pair.key_id,
            public_key=pair.public_raw.hex(),
            key_file=key_rel,
            created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        write_json_atomic(self.dd.identity_file, asdict(ident))
        return ident

    def _keep_old(self, stamp: str) -> None:
        """--force never destroys a key: the old identity file is kept beside it."""
        old = self.dd.identity_file
        os.replace(old, old.with_name(f"identity.{stamp}.replaced.json"))
