"""The ledger store: blocks, transactions and state rows in SQL (SQLAlchemy 2 Core).

The caller hands in an `sqlalchemy.Engine` (SQLite in WAL mode or PostgreSQL). The schema is
created and upgraded by the Alembic migrations shipped in `migrations/`. A block, its
transactions, its state writes and the new chain head commit in ONE database transaction, so a
crash leaves either the whole block or none of it. Queries for the GUI are keyset-paginated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, delete, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bedrock.canonical import canonical
from bedrock.errors import CodedError
from bedrock.migrations import upgrade
from ledger_core.chain.block import Block
from ledger_core.chain.state import BlockResult, LedgerState, encode_writes
from ledger_core.chain.state_view import Rules, Writes
from ledger_core.chain.store import tables as t

MIGRATIONS = Path(__file__).with_name("migrations")
BLOCK_COLUMNS = (t.blocks.c.height, t.blocks.c.block_id, t.blocks.c.time, t.blocks.c.proposer, t.blocks.c.num_txs)


class StoreError(CodedError):
    """The database does not hold this chain, or its head is inconsistent."""

    code = "store"


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest revision (Alembic, run in-process)."""
    upgrade(engine, MIGRATIONS)


def _summary(row: Any) -> dict[str, Any]:
    return {"height": row.height, "block_id": row.block_id, "time": row.time,
            "proposer": row.proposer, "num_txs": row.num_txs}


class LedgerStore:
    def __init__(self, engine: Engine, run_migrations: bool = True) -> None:
        self.engine = engine
        self._upserts: dict[tuple[str, tuple[str, ...]], Any] = {}
        if run_migrations:
            migrate(engine)

    # -- writing -------------------------------------------------------------------------

    def _upsert(self, conn: Any, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
        if not rows:
            return
        cache_key = (table.name, tuple(rows[0]))
        stmt = self._upserts.get(cache_key)
        if stmt is None:  # built once: constructing the ON CONFLICT clause costs more than a row
            ins = (pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert)(table)
            cols = {c: ins.excluded[c] for c in rows[0] if c not in keys}
            stmt = self._upserts[cache_key] = ins.on_conflict_do_update(index_elements=keys, set_=cols)
        conn.execute(stmt, rows)

    def _write_state(self, conn: Any, encoded: dict[tuple[str, str], tuple[bytes | None, int]]) -> None:
        """Upsert or delete state rows: (table, key) -> (canonical record or None, height)."""
        puts = [
            {"tbl": tb, "key": k, "data": data.decode(), "height": h}
            for (tb, k), (data, h) in encoded.items() if data is not None
        ]
        self._upsert(conn, t.state, puts, ["tbl", "key"])
        dels = [key for key, (data, _h) in encoded.items() if data is None]
        if dels:
            conn.execute(delete(t.state).where(tuple_(t.state.c.tbl, t.state.c.key).in_(dels)))

    def _write_meta(self, conn: Any, values: dict[str, Any]) -> None:
        self._upsert(conn, t.meta, [{"key": k, "value": str(v)} for k, v in values.items()], ["key"])

    def init_genesis(self, state: LedgerState, writes: Writes) -> None:
        """Record the genesis state once; a database of another chain is refused."""
        have = self.chain_id()
        if have is not None:
            if have != state.chain_id:
                raise StoreError(f"the database holds chain {have[:16]}, not {state.chain_id[:16]}")
            return
        with self.engine.begin() as conn:
            self._write_state(conn, {key: (data, 0) for key, data in encode_writes(writes).items()})
            self._write_meta(conn, {"chain_id": state.chain_id, "height": 0, "app_hash": state.app_hash,
                                    "genesis_app_hash": state.app_hash, "last_block_id": state.last_block_id,
                                    "last_time": state.last_time})

    def save_block(
        self, block: Block, commit: dict[str, Any], result: BlockResult, validators: dict[str, bytes]
    ) -> None:
        """Block + transactions + state writes + new head, atomically. `validators` is the set
        that signed this block's commit (kept to check the next block's last commit)."""
        self.save_blocks([(block, commit, result, validators)])

    def save_blocks(
        self, entries: list[tuple[Block, dict[str, Any], BlockResult, dict[str, bytes]]]
    ) -> None:
        """Consecutive blocks (as `save_block`'s arguments) in one database transaction: block
        sync writes a verified batch with one statement per table and one commit. The state
        rows get each key's last write in the batch, as block-by-block writing would leave them."""
        if not entries:
            return
        blocks, txs = [], []
        state: dict[tuple[str, str], tuple[bytes | None, int]] = {}
        for block, commit, result, _validators in entries:
            h = block.height
            blocks.append({
                "height": h, "block_id": block.id, "time": block.header["time"],
                "proposer": block.header["proposer"], "num_txs": len(block.txs),
                "header": block.header_bytes(),
                "last_commit": None if block.last_commit is None else canonical(block.last_commit),
                "commit": canonical(commit),
            })
            txs.extend(
                {"hash": x.hash, "height": h, "idx": i, "type": x.type, "sender": x.sender,
                 "nonce": x.nonce, "raw": x.raw}
                for i, x in enumerate(block.txs)
            )
            for key, data in result.encoded.items():
                state[key] = (data, h)
        block, _commit, result, validators = entries[-1]
        with self.engine.begin() as conn:
            conn.execute(t.blocks.insert(), blocks)
            if txs:
                conn.execute(t.txs.insert(), txs)
            self._write_state(conn, state)
            self._write_meta(conn, {"height": block.height, "app_hash": result.app_hash,
                                    "last_block_id": block.id, "last_time": block.header["time"],
                                    "head_validators": json.dumps({k: v.hex() for k, v in validators.items()},
                                                                  sort_keys=True)})

    # -- loading -------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return {r.key: r.value for r in conn.execute(select(t.meta))}

    def head_validators(self) -> dict[str, bytes] | None:
        raw = self.meta().get("head_validators")
        return None if raw is None else {k: bytes.fromhex(v) for k, v in json.loads(raw).items()}

    def chain_id(self) -> str | None:
        return self.meta().get("chain_id")

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A read-only connection whose statements all see one committed state.

        pysqlite sends no BEGIN before a SELECT, so without an explicit one each SELECT sees the
        newest commit and a reader racing the node reads a torn state; PostgreSQL's default
        READ COMMITTED has the same effect.
        """
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")
            else:
                conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn

    def load_state(self, rules: Rules) -> LedgerState | None:
        """The committed state at the chain head, or None for an empty database."""
        with self.snapshot() as conn:
            m = {r.key: r.value for r in conn.execute(select(t.meta))}
            if "chain_id" not in m:
                return None
            tables: dict[str, dict[str, Any]] = {tb: {} for tb in rules.tables}
            for r in conn.execute(select(t.state.c.tbl, t.state.c.key, t.state.c.data)):
                tables.setdefault(r.tbl, {})[r.key] = json.loads(r.data)
            top = conn.execute(select(func.max(t.blocks.c.height))).scalar() or 0
        if top != int(m["height"]):
            raise StoreError(f"the chain head says height {m['height']} but blocks go to {top}")
        return LedgerState(m["chain_id"], rules, tables, int(m["height"]), m["app_hash"],
                           m["last_block_id"], int(m["last_time"]))

    # -- queries (keyset pagination) -------------------------------------------------------

    def height(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.max(t.blocks.c.height))).scalar() or 0

    def blocks_page(self, before: int | None = None, after: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Block summaries: newest first below `before`, or oldest first above `after`."""
        q = select(*BLOCK_COLUMNS)
        if after is not None:
            q = q.where(t.blocks.c.height > after).order_by(t.blocks.c.height.asc())
        else:
            if before is not None:
                q = q.where(t.blocks.c.height < before)
            q = q.order_by(t.blocks.c.height.desc())
        with self.engine.connect() as conn:
            return [_summary(r) for r in conn.execute(q.limit(max(1, min(limit, 1000))))]

    def _block(self, where: Any) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(t.blocks).where(where)).first()
            if r is None:
                return None
            txs = conn.execute(
                select(t.txs.c.hash, t.txs.c.idx, t.txs.c.type, t.txs.c.sender, t.txs.c.nonce)
                .where(t.txs.c.height == r.height).order_by(t.txs.c.idx)
            ).all()
        return {
            **_summary(r),
            "header": json.loads(r.header),
            "last_commit": None if r.last_commit is None else json.loads(r.last_commit),
            "commit": json.loads(r.commit),
            "txs": [{"hash": x.hash, "index": x.idx, "type": x.type, "sender": x.sender, "nonce": x.nonce}
                    for x in txs],
        }

    def block(self, height: int) -> dict[str, Any] | None:
        return self._block(t.blocks.c.height == height)

    def block_by_id(self, block_id: str) -> dict[str, Any] | None:
        return self._block(t.blocks.c.block_id == block_id)

    def tx(self, tx_hash: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(t.txs).where(t.txs.c.hash == tx_hash)).first()
        if r is None:
            return None
        return {"hash": r.hash, "height": r.height, "index": r.idx, "type": r.type,
                "sender": r.sender, "nonce": r.nonce, "envelope": json.loads(r.raw)}

    def txs_by_sender(self, sender: str, before: tuple[int, int] | None = None, limit: int = 100) -> list[dict[str, Any]]:
        q = select(t.txs.c.hash, t.txs.c.height, t.txs.c.idx, t.txs.c.type, t.txs.c.nonce).where(t.txs.c.sender == sender)
        if before is not None:
            h, i = before
            q = q.where(or_(t.txs.c.height < h, and_(t.txs.c.height == h, t.txs.c.idx < i)))
        q = q.order_by(t.txs.c.height.desc(), t.txs.c.idx.desc()).limit(max(1, min(limit, 1000)))
        with self.engine.connect() as conn:
            return [{"hash": r.hash, "height": r.height, "index": r.idx, "type": r.type, "nonce": r.nonce}
                    for r in conn.execute(q)]

    def txs_of_type(self, tx_type: str, after: tuple[int, int] = (0, -1), limit: int = 1000) -> list[tuple[int, int, bytes]]:
        """(height, index, raw envelope) of one transaction type in chain order, after (height, index)."""
        h, i = after
        q = (select(t.txs.c.height, t.txs.c.idx, t.txs.c.raw)
             .where(t.txs.c.type == tx_type, or_(t.txs.c.height > h, and_(t.txs.c.height == h, t.txs.c.idx > i)))
             .order_by(t.txs.c.height, t.txs.c.idx).limit(max(1, min(limit, 10_000))))
        with self.engine.connect() as conn:
            return [(r.height, r.idx, bytes(r.raw)) for r in conn.execute(q)]

    def state_row(self, tbl: str, key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(t.state.c.data).where(t.state.c.tbl == tbl, t.state.c.key == key)).first()
        return None if r is None else json.loads(r.data)

    def search(self, term: str) -> dict[str, Any] | None:
        """One search box: a height, a block hash, a transaction hash or a participant key id."""
        term = term.strip().lower()
        if term.isdigit() and len(term) < 19:
            b = self.block(int(term))
            return None if b is None else {"kind": "block", "block": b}
        if len(term) != 64 or any(c not in "0123456789abcdef" for c in term):
            return None
        if (b := self.block_by_id(term)) is not None:
            return {"kind": "block", "block": b}
        if (x := self.tx(term)) is not None:
            return {"kind": "tx", "tx": x}
        if (p := self.state_row("participant", term)) is not None:
            return {"kind": "participant", "participant": p, "txs": self.txs_by_sender(term, limit=100)}
        return None

    def iter_blocks(self, start: int = 1, batch: int = 200) -> Iterator[tuple[Any, list[Any]]]:
        """Stored blocks with their transactions in order, for full re-verification."""
        h = start
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(t.blocks).where(t.blocks.c.height >= h).order_by(t.blocks.c.height).limit(batch)
                ).all()
                if not rows:
                    return
                lo, hi = rows[0].height, rows[-1].height
                txrows = conn.execute(
                    select(t.txs.c.hash, t.txs.c.height, t.txs.c.idx, t.txs.c.raw)
                    .where(t.txs.c.height >= lo, t.txs.c.height <= hi)
                    .order_by(t.txs.c.height, t.txs.c.idx)
                ).all()
            by_height: dict[int, list[Any]] = {}
            for x in txrows:
                by_height.setdefault(x.height, []).append(x)
            for r in rows:
                yield r, by_height.get(r.height, [])
            h = hi + 1
