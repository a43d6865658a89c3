"""Shared wiring of the ledger for the commands and the GUI: the ledger database, genesis, node key
and the Ledger perspective of a data directory."""

from __future__ import annotations

import re
import time
from pathlib import Path

from sqlalchemy import Engine

from app.db import make_engine, sqlite_url
from app.errors import UserError
from app.identity import IdentityStore
from app.paths import DataDir
from ledger_core.chain import genesis as gen
from ledger_core.chain.json_shape import BUSINESS_ROLES, ROLES
from ledger_core.crypto.keys import KeyFileError, KeyPair, read_private_key, write_private_key
from ledger_core.crypto.signing import Signer

NODE_KEY = "keys/node.pem"

db_help = "SQLAlchemy URL of the ledger database (default: sqlite <data-dir>/ledger.sqlite)."


def ledger_engine(dd: DataDir, db_url: str | None, must_exist: bool = False) -> Engine:
    if db_url is None:
        if must_exist and not dd.ledger_db.exists():
            raise UserError(f"no ledger database at {dd.ledger_db}: run `bcmlp node --dev` first")
        db_url = sqlite_url(dd.ledger_db)
    try:
        return make_engine(db_url)
    except Exception as exc:  # SQLAlchemy reports bad URLs with several exception types
        raise UserError(f"cannot use database URL {db_url!r}: {exc}") from None


def node_key_path(root: Path) -> Path:
    return root / NODE_KEY


def load_node_key(root: Path, create: bool) -> Signer:
    """The node's own key: an unencrypted PKCS#8 file, mode 0600, for unattended nodes."""
    path = node_key_path(root)
    if not path.exists() and create:
        write_private_key(path, KeyPair.generate(), None)
    if path.exists() and path.stat().st_mode & 0o077:
        raise UserError(f"node key {path} is readable by others: run `chmod 600 {path}`")
    try:
        return Signer.from_keypair(read_private_key(path, None))
    except KeyFileError as exc:
        raise UserError(str(exc)) from None


def org_slug(name: str, fallback: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")[:64]
    return slug if slug and slug[0].isalnum() else fallback


def load_genesis(path: Path) -> gen.Genesis:
    try:
        return gen.load(path)
    except gen.GenesisError as exc:
        raise UserError(str(exc)) from None


def dev_genesis(dd: DataDir, node: Signer) -> gen.Genesis:
    """A single-validator genesis: the local identity's organisation holds every role and this
    node is the only validator."""
    ident = IdentityStore(dd).load()
    org = org_slug(ident.org, "org-" + ident.key_id[:8])
    parts = [
        gen.participant_entry(bytes.fromhex(ident.public_key), org, ident.name, "expert", list(BUSINESS_ROLES)),
        gen.participant_entry(node.public_raw, org, f"{ident.org} node", "node", ["validator"]),
    ]
    return gen.make(
        "dev-" + org[:40], time.time_ns() // 1_000_000,
        [{"id": org, "name": ident.org, "roles": sorted(ROLES)}], parts, [node.key_id],
    )


def ledger_page(dd: DataDir):
    """The Ledger perspective over <data-dir>/ledger.sqlite (read-only use; the node writes)."""
    from PySide6.QtWidgets import QApplication

    from ledger_core.chain.store import LedgerStore
    from ui.ledger.page import LedgerPage

    engines: list[Engine] = []

    def opener():
        while engines:
            engines.pop().dispose()
        if not dd.ledger_db.exists():
            raise LookupError(f"No chain in {dd.root} yet: start one with `bcmlp node --dev`, then press Reload.")
        engine = make_engine(sqlite_url(dd.ledger_db))
        engines.append(engine)
        return LedgerStore(engine), lambda: gen.load(dd.genesis_file)

    page = LedgerPage(opener)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(page.shutdown)
    return page


def network_page(dd: DataDir):
    """The Network perspective over the node serving <data-dir>/node.sock."""
    from ledger_core.node.client import NodeClient
    from ui.network.page import NetworkPage

    def fetch() -> dict:
        if not dd.node_socket.exists():
            raise LookupError(f"No node is running on {dd.root}: start one with `bcmlp node`.")
        with NodeClient(dd.node_socket, timeout=3) as client:
            return client.status()

    return NetworkPage(fetch)
