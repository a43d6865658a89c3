"""The local identity's signer: its key unlocked with a passphrase that is asked for only once
the data directory is known to hold an identity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.errors import UserError
from app.identity import IdentityStore
from app.paths import DataDir
from ledger_core.crypto.signing import Signer

PassphraseSource = Callable[[], str]
SignerSource = Callable[[], Signer]  # what the services call once they are ready to sign


def read_passphrase_file(path: Path) -> str:
    """A passphrase kept in a file (its last line break is not part of it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read passphrase file {path}: {exc}") from None
    return text.rstrip("\r\n")


def local_signer(dd: DataDir, passphrase: PassphraseSource) -> Signer:
    """The signer of dd's identity; `passphrase` is called only when there is an identity."""
    store = IdentityStore(dd)
    if not store.exists():
        raise UserError(f"no identity in {dd.root}: run `bcmlp init` first")
    ident = store.load()
    return Signer.from_keypair(store.unlock(passphrase(), ident))


def signer_source(dd: DataDir, passphrase: PassphraseSource) -> SignerSource:
    """`local_signer` deferred until a service is ready to sign (after hashing, say)."""
    return lambda: local_signer(dd, passphrase)


def passphrase_file_signer(dd: DataDir, path: Path) -> SignerSource:
    """A deferred signer whose passphrase is read from `path` (the demo's companies)."""
    return signer_source(dd, lambda: read_passphrase_file(path))
