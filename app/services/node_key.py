"""The node's own key (keys/node.pem): an unencrypted PKCS#8 file, mode 0600, so that a node runs
unattended."""

from __future__ import annotations

from pathlib import Path

from app.errors import UserError
from ledger_core.crypto.keys import KeyPair, read_private_key, write_private_key
from ledger_core.crypto.signing import Signer

NODE_KEY = "keys/node.pem"


def node_key_path(root: Path) -> Path:
    return root / NODE_KEY


def load_node_key(root: Path, create: bool) -> Signer:
    """The node key of the data directory `root`, created first when asked and absent."""
    path = node_key_path(root)
    if not path.exists() and create:
        write_private_key(path, KeyPair.generate(), None)
    if path.exists() and path.stat().st_mode & 0o077:
        raise UserError(f"node key {path} is readable by others: run `chmod 600 {path}`")
    return Signer.from_keypair(read_private_key(path, None))
