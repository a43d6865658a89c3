"""Chain verification: a clean chain verifies; changing any byte of a stored block, transaction
or commit makes it fail at that height."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.db import make_engine
from bedrock.cancel import Cancelled
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain.replica import Chain
from ledger_core.chain.store import LedgerStore
from ledger_core.chain.store import tables as t
from ledger_core.chain.verify import verify_chain
from tests.support.ledger_world import consortium, produce, report

TARGET = 3


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A 5-block chain in an SQLite file; tests copy it before tampering."""
    path = tmp_path_factory.mktemp("chain") / "ledger.sqlite"
    c = consortium(3)
    engine = make_engine(f"sqlite:///{path}")
    chain = Chain(LedgerStore(engine), c.genesis, rules=LEDGER_RULES)
    for n in range(1, 6):
        produce(chain, c.node, [report(d, c.chain_id, n) for d in c.devices])
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return c, path.read_bytes()


@pytest.fixture
def fresh_copy(pristine, tmp_path):
    c, data = pristine
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(data)
    engine = make_engine(f"sqlite:///{path}")
    yield c, engine
    engine.dispose()


def test_clean_chain_verifies(fresh_copy):
    c, engine = fresh_copy
    seen = []
    rep = verify_chain(c.genesis, LedgerStore(engine), progress=lambda h, top: seen.append((h, top)), rules=LEDGER_RULES)
    assert rep.ok and rep.height == 5 and rep.transactions == 15 and rep.blocks == 5
    assert seen[-1] == (5, 5)
    with pytest.raises(Cancelled):
        verify_chain(c.genesis, LedgerStore(engine), cancel=lambda: True, rules=LEDGER_RULES)


def _blob(engine, table, column, where):
    with engine.connect() as conn:
        return bytes(conn.execute(sa.select(column).where(where)).scalar())


def _set(engine, table, column, where, value):
    with engine.begin() as conn:
        conn.execute(sa.update(table).where(where).values({column.name: value}))


CASES = {
    "header": (t.blocks, t.blocks.c.header, t.blocks.c.height == TARGET, 3),
    "commit": (t.blocks, t.blocks.c.commit, t.blocks.c.height == TARGET, 7),
    "last_commit": (t.blocks, t.blocks.c.last_commit, t.blocks.c.height == TARGET, 7),
    "tx": (t.txs, t.txs.c.raw, sa.and_(t.txs.c.height == TARGET, t.txs.c.idx == 1), 11),
}


@pytest.mark.parametrize("what", sorted(CASES))
def test_any_changed_byte_fails_at_its_height(fresh_copy, what):
    c, engine = fresh_copy
    table, column, where, step = CASES[what]
    original = _blob(engine, table, column, where)
    store = LedgerStore(engine)
    for pos in range(0, len(original), step):
        for delta in (1, 0x40):
            changed = bytearray(original)
            changed[pos] ^= delta
            _set(engine, table, column, where, bytes(changed))
            rep = verify_chain(c.genesis, store, rules=LEDGER_RULES)
            assert not rep.ok and rep.height == TARGET, (what, pos, rep)
    _set(engine, table, column, where, original)
    assert verify_chain(c.genesis, store, rules=LEDGER_RULES).ok


@pytest.mark.parametrize(
    ("column", "value"),
    [(t.blocks.c.block_id, "ab" * 32), (t.blocks.c.num_txs, 2), (t.blocks.c.time, 1)],
)
def test_changed_block_columns_fail(fresh_copy, column, value):
    c, engine = fresh_copy
    _set(engine, t.blocks, column, t.blocks.c.height == TARGET, value)
    rep = verify_chain(c.genesis, LedgerStore(engine), rules=LEDGER_RULES)
    assert not rep.ok and rep.height == TARGET


@pytest.mark.parametrize("change", ["hash", "idx", "height", "delete"])
def test_changed_tx_rows_fail(fresh_copy, change):
    c, engine = fresh_copy
    where = sa.and_(t.txs.c.height == TARGET, t.txs.c.idx == 2)
    with engine.begin() as conn:
        if change == "hash":
            conn.execute(sa.update(t.txs).where(where).values(hash="cd" * 32))
        elif change == "idx":
            conn.execute(sa.update(t.txs).where(where).values(idx=7))
        elif change == "height":
            conn.execute(sa.update(t.txs).where(where).values(height=TARGET + 1, idx=9))
        else:
            conn.execute(sa.delete(t.txs).where(where))
    rep = verify_chain(c.genesis, LedgerStore(engine), rules=LEDGER_RULES)
    assert not rep.ok and rep.height == TARGET, rep


def test_missing_block_and_reordered_txs(fresh_copy):
    c, engine = fresh_copy
    with engine.begin() as conn:  # swap the order of two transactions of a block
        conn.execute(sa.update(t.txs).where(t.txs.c.height == TARGET, t.txs.c.idx == 0).values(idx=-1))
        conn.execute(sa.update(t.txs).where(t.txs.c.height == TARGET, t.txs.c.idx == 1).values(idx=0))
        conn.execute(sa.update(t.txs).where(t.txs.c.height == TARGET, t.txs.c.idx == -1).values(idx=1))
    rep = verify_chain(c.genesis, LedgerStore(engine), rules=LEDGER_RULES)
    assert not rep.ok and rep.height == TARGET and rep.code == "bad_tx_root"
    with engine.begin() as conn:
        conn.execute(sa.delete(t.txs).where(t.txs.c.height == 2))
        conn.execute(sa.delete(t.blocks).where(t.blocks.c.height == 2))
    rep = verify_chain(c.genesis, LedgerStore(engine), rules=LEDGER_RULES)
    assert not rep.ok and rep.height == 2 and rep.code == "missing_block"


@pytest.mark.parametrize("what", ["tx", "commit"])
def test_parallel_signature_checks_same_verdicts(fresh_copy, monkeypatch, what):
    import ledger_core.chain.verify as v

    c, engine = fresh_copy
    monkeypatch.setattr(v, "CHUNK_TXS", 5)  # several chunks even on this small chain
    store = LedgerStore(engine)
    serial, parallel = verify_chain(c.genesis, store, rules=LEDGER_RULES), verify_chain(c.genesis, store, workers=2, rules=LEDGER_RULES)
    assert parallel.ok and (parallel.app_hash, parallel.transactions) == (serial.app_hash, serial.transactions)
    table, column, where, _step = CASES[what]
    blob = bytearray(_blob(engine, table, column, where))
    pos = blob.index(b'"signature":"') + 30  # one hex digit inside a signature
    blob[pos] = ord("0") if blob[pos] != ord("0") else ord("1")
    _set(engine, table, column, where, bytes(blob))
    rep = verify_chain(c.genesis, store, workers=2, rules=LEDGER_RULES)
    assert not rep.ok and rep.height == TARGET
    assert (rep.code, rep.reason) == (verify_chain(c.genesis, store, rules=LEDGER_RULES).code, verify_chain(c.genesis, store, rules=LEDGER_RULES).reason)


@pytest.mark.parametrize("workers", [1, 2])
def test_badly_signed_tx_in_a_consistent_block_is_found(tmp_path, monkeypatch, workers):
    """A proposer that skipped a signature check (poisoned cache) cannot sneak a forged tx past
    chain verify, even though hashes, Merkle root and app_hash are all consistent."""
    import ledger_core.chain.verify as v
    from ledger_core.chain import tx as txm

    monkeypatch.setattr(v, "CHUNK_TXS", 2)
    c = consortium(2)
    engine = make_engine(f"sqlite:///{tmp_path / 'l.sqlite'}")
    chain = Chain(LedgerStore(engine), c.genesis, rules=LEDGER_RULES)
    produce(chain, c.node, [report(c.devices[0], c.chain_id, 1)])
    good = report(c.devices[1], c.chain_id, 1)
    forged = txm.from_obj({"body": good.body, "signature": "00" * 64})
    chain.cache.add(forged.hash)
    produce(chain, c.node, [report(c.devices[0], c.chain_id, 2), forged])
    produce(chain, c.node, [])
    rep = verify_chain(c.genesis, LedgerStore(engine), workers=workers, rules=LEDGER_RULES)
    assert not rep.ok and rep.height == 2 and rep.code == "invalid_tx" and "bad_signature" in rep.reason
    engine.dispose()
