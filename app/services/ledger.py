"""Read access to a data directory's ledger: the database engine and a read-only view of the
committed state, with certificate ids resolved from unique prefixes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from app.db import make_engine, sqlite_url
from app.errors import UserError
from app.paths import DataDir
from ledger_core.attest.proofs import Live
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain import genesis as gen
from ledger_core.chain.store import LedgerStore


def ledger_engine(dd: DataDir, db_url: str | None, must_exist: bool = False) -> Engine:
    """The engine of `db_url`, else of <data-dir>/ledger.sqlite (which must exist if asked)."""
    if db_url is None:
        if must_exist and not dd.ledger_db.exists():
            raise UserError(f"no ledger database at {dd.ledger_db}: run `bcmlp node --dev` first")
        db_url = sqlite_url(dd.ledger_db)
    try:
        return make_engine(db_url)
    except Exception as exc:  # SQLAlchemy reports bad URLs with several exception types
        raise UserError(f"cannot use database URL {db_url!r}: {exc}") from None


@dataclass
class LedgerView:
    """One snapshot of the committed state; `close()` releases its database engine."""

    genesis: gen.Genesis
    store: LedgerStore
    live: Live

    def close(self) -> None:
        self.store.engine.dispose()

    def __enter__(self) -> LedgerView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_view(dd: DataDir, db_url: str | None = None) -> LedgerView:
    """The committed state of the local ledger database, read-only (the node may be running)."""
    if not dd.genesis_file.exists():
        raise UserError(f"no genesis.json in {dd.root}: run `bcmlp node --dev` first")
    genesis = gen.load(dd.genesis_file)
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


def require_cert_ids(view: LedgerView, refs: Iterable[str], label: str = "") -> list[str]:
    """The certificate ids that `refs` name; UserError `<label><ref>: no such certificate ...`
    for the first that names none."""
    out = []
    for ref in refs:
        cert_id = resolve_cert_id(view, ref)
        if cert_id is None:
            raise UserError(f"{label}{ref}: no such certificate on the ledger")
        out.append(cert_id)
    return out


def require_cert_id(dd: DataDir, ref: str) -> str:
    """The certificate id that `ref` names on the local ledger; UserError when there is none."""
    with open_view(dd) as view:
        return require_cert_ids(view, [ref])[0]
