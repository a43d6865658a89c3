"""Shared wiring of certify, verify, rate and trust: the local identity's signer, submitting
through the node's control socket and waiting for the commit, a read-only view of the ledger
state, and manifests hashed with a rich progress bar."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from app.commands.common import read_passphrase
from app.commands.ledger_common import ledger_engine, load_genesis
from app.errors import UserError
from app.identity import ENV_PASSPHRASE, IdentityStore
from app.paths import DataDir
from bedrock.cancel import Cancelled
from ledger_core.attest.manifest import Manifest, ManifestError, build_manifest
from ledger_core.attest.proofs import Live
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain import tx as txm
from ledger_core.chain.genesis import Genesis
from ledger_core.chain.store import LedgerStore
from ledger_core.crypto.signing import Signer
from ledger_core.node.client import NodeClient, NodeUnavailable

passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"Read the key passphrase from this file (else ${ENV_PASSPHRASE}, else a prompt).",
)


def local_signer(dd: DataDir, passphrase_file: Path | None) -> Signer:
    store = IdentityStore(dd)
    if not store.exists():
        raise UserError(f"no identity in {dd.root}: run `bcmlp init` first")
    ident = store.load()
    return Signer.from_keypair(store.unlock(read_passphrase(passphrase_file, False, ENV_PASSPHRASE), ident))


def submit(dd: DataDir, signer: Signer, tx_type: str, payload: dict[str, Any]) -> tuple[txm.Tx, dict[str, Any]]:
    """Sign and submit through <data-dir>/node.sock, wait for the commit; UserError if refused."""
    try:
        with NodeClient(dd.node_socket, timeout=120) as cl:
            chain_id = cl.status()["chain_id"]
            nonce = cl.next_nonce(signer.key_id)
            try:
                tx = txm.make(signer, chain_id, tx_type, nonce, payload, time.time_ns() // 1_000_000)
            except txm.TxError as exc:
                raise UserError(f"{exc.code}: {exc}") from None
            ans = cl.submit(tx, wait=True)
    except NodeUnavailable as exc:
        raise UserError(f"{exc} (start it with `bcmlp node --dev`)") from None
    if not ans.get("ok"):
        raise UserError(f"the ledger refused the transaction: {ans.get('code')}: {ans.get('message')}")
    return tx, ans


@dataclass
class LedgerView:
    genesis: Genesis
    store: LedgerStore
    live: Live

    def close(self) -> None:
        self.store.engine.dispose()


def open_view(dd: DataDir, db_url: str | None = None) -> LedgerView:
    """The committed state of the local ledger database, read-only (the node may be running)."""
    if not dd.genesis_file.exists():
        raise UserError(f"no genesis.json in {dd.root}: run `bcmlp node --dev` first")
    genesis = load_genesis(dd.genesis_file)
    store = LedgerStore(ledger_engine(dd, db_url, must_exist=True), run_migrations=False)
    state = store.load_state(LEDGER_RULES)
    if state is None or state.chain_id != genesis.chain_id:
        store.engine.dispose()
        raise UserError(f"the ledger database in {dd.root} does not hold this genesis' chain")
    tables = state.tables

    def get(table: str, key: str) -> Any:
        return tables.get(table, {}).get(key)

    def keys(table: str) -> list[str]:
        return list(tables.get(table, {}))

    return LedgerView(genesis, store, Live(get, keys, state.height, state.last_time))


def hash_path(path: Path, quiet: bool = False) -> Manifest:
    """The manifest of a file or folder, with a progress bar on stderr; Ctrl-C cancels."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    try:
        if quiet:
            return build_manifest(path)
        console = _stderr_console()
        with Progress(
            "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), transient=True, console=console, disable=not console.is_terminal,
        ) as bar:
            task = bar.add_task(f"hashing {path.name}", total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return build_manifest(path, update)
    except ManifestError as exc:
        raise UserError(str(exc)) from None
    except (Cancelled, OSError) as exc:
        raise UserError(f"cannot hash {path}: {exc}") from None


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def resolve_cert_id(view: LedgerView, text: str) -> str | None:
    """A full certificate id, or a unique prefix of at least 8 hex digits."""
    text = text.strip().lower()
    if view.live.get("cert", text) is not None:
        return text
    if len(text) >= 8:
        hits = [k for k in view.live.keys("cert") if k.startswith(text)]
        if len(hits) == 1:
            return hits[0]
    return None


def require_cert_id(dd: DataDir, ref: str) -> str:
    """The certificate id that `ref` names on the local ledger; UserError when there is none."""
    view = open_view(dd)
    try:
        cert_id = resolve_cert_id(view, ref)
    finally:
        view.close()
    if cert_id is None:
        raise UserError(f"{ref}: no such certificate on the ledger")
    return cert_id
