"""The SQL store: atomic blocks, keyset pages, search, reload; also on PostgreSQL when
BCMLP_TEST_PG_URL is set."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from app.db import make_engine
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain.block import sign_commit
from ledger_core.chain.replica import Chain
from ledger_core.chain.store import LedgerStore, StoreError
from ledger_core.chain.store import tables as t
from ledger_core.chain.verify import verify_chain
from tests.support.ledger_world import consortium, produce, report

PG_URL = os.environ.get("BCMLP_TEST_PG_URL")


def _reset_pg(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        t.metadata.drop_all(conn)
        conn.execute(sa.text("DROP TABLE IF EXISTS ledger_alembic_version"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    else:
        if not PG_URL:
            pytest.skip("PostgreSQL tests need BCMLP_TEST_PG_URL (set by .ci/run, which starts a server)")
        eng = make_engine(PG_URL)
        _reset_pg(eng)
    yield eng
    if request.param == "postgresql":
        _reset_pg(eng)
    eng.dispose()


@pytest.fixture
def built(engine):
    c = consortium(3)
    chain = Chain(LedgerStore(engine), c.genesis, rules=LEDGER_RULES)
    n = 0
    for _b in range(5):
        n += 1
        produce(chain, c.node, [report(d, c.chain_id, n) for d in c.devices])
    produce(chain, c.node, [])
    return c, chain


def test_blocks_pages_and_lookups(built):
    c, chain = built
    store = chain.store
    assert store.height() == 6
    newest = store.blocks_page(limit=4)
    assert [b["height"] for b in newest] == [6, 5, 4, 3]
    assert [b["height"] for b in store.blocks_page(before=3, limit=10)] == [2, 1]
    assert [b["height"] for b in store.blocks_page(after=4, limit=10)] == [5, 6]
    b2 = store.block(2)
    assert b2["num_txs"] == 3 and b2["header"]["height"] == 2
    assert store.block_by_id(b2["block_id"])["height"] == 2
    tx0 = store.tx(b2["txs"][0]["hash"])
    assert tx0["height"] == 2 and tx0["envelope"]["body"]["sender"] == c.devices[0].key_id
    page = store.txs_by_sender(c.devices[0].key_id, limit=2)
    assert [x["height"] for x in page] == [5, 4]
    more = store.txs_by_sender(c.devices[0].key_id, before=(page[-1]["height"], page[-1]["index"]), limit=10)
    assert [x["height"] for x in more] == [3, 2, 1]
    assert store.search("2")["block"]["height"] == 2
    assert store.search(b2["block_id"].upper())["kind"] == "block"
    assert store.search(tx0["hash"])["kind"] == "tx"
    found = store.search(c.devices[0].key_id)
    assert found["kind"] == "participant" and len(found["txs"]) == 5
    assert store.search("nonsense") is None and store.search("9" * 64) is None
    assert store.block(99) is None


def test_reload_gives_the_same_state(built, engine):
    c, chain = built
    again = Chain(LedgerStore(engine), c.genesis, rules=LEDGER_RULES)
    assert again.state.tables == chain.state.tables
    assert (again.height, again.state.app_hash, again.state.last_block_id) == (
        chain.height, chain.state.app_hash, chain.state.last_block_id)
    assert again.last_commit == chain.last_commit
    produce(again, c.node, [report(c.devices[0], c.chain_id, 6)])
    assert verify_chain(c.genesis, again.store, rules=LEDGER_RULES).ok


def test_other_chain_refused(built, engine):
    other = consortium(1, time_ms=5)
    with pytest.raises(StoreError, match="holds chain"):
        Chain(LedgerStore(engine), other.genesis, rules=LEDGER_RULES)
    report_ = verify_chain(other.genesis, LedgerStore(engine), rules=LEDGER_RULES)
    assert not report_.ok and report_.code == "wrong_chain"


def test_failed_block_write_leaves_nothing(built, engine):
    c, chain = built
    block, result = chain.propose([report(c.devices[1], c.chain_id, 6)], c.node.key_id, chain.state.last_time + 5)
    commit = sign_commit([c.node], c.chain_id, block.height, 0, block.id)
    with engine.begin() as conn:  # a conflicting row makes the block's transaction fail midway
        conn.execute(t.txs.insert(), {"hash": block.txs[0].hash, "height": 999, "idx": 0, "type": "x",
                                      "sender": "s", "nonce": 1, "raw": b"{}"})
    before_meta = chain.store.meta()
    with pytest.raises(sa.exc.IntegrityError):
        chain.commit(block, commit, result)
    assert chain.store.height() == 6 and chain.store.meta() == before_meta
    assert chain.height == 6
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.blocks)).scalar() == 6
        nonce = conn.execute(sa.select(t.state.c.data).where(
            t.state.c.tbl == "nonce", t.state.c.key == c.devices[1].key_id)).scalar()
    assert nonce == '{"nonce":5}'


def test_migrations_are_idempotent(engine):
    LedgerStore(engine)
    LedgerStore(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM ledger_alembic_version")).scalar() == "0001"


def test_ledger_and_records_share_a_database_with_their_own_version_tables(tmp_path):
    """Both stores upgrade through `bedrock.migrations`, each in its own version table."""
    from inspection.records import RecordStore

    engine = make_engine(f"sqlite:///{tmp_path / 'both.sqlite'}")
    for _ in range(2):  # a second open is a no-op upgrade
        LedgerStore(engine)
        RecordStore(engine)
    with engine.connect() as conn:
        for table in ("ledger_alembic_version", "inspection_alembic_version"):
            assert conn.execute(sa.text(f"SELECT version_num FROM {table}")).scalars().all() == ["0001"]
        names = set(sa.inspect(conn).get_table_names())
    assert {"ledger_blocks", "inspection_records"} <= names and "alembic_version" not in names
    engine.dispose()


def test_block_wire_form_roundtrip_and_check(tmp_path):
    from bedrock.canonical import canonical, decode
    from ledger_core.chain.block import BlockError, parse_block

    c = consortium(2)
    engine = make_engine(f"sqlite:///{tmp_path / 'a.sqlite'}")
    chain = Chain(LedgerStore(engine), c.genesis, rules=LEDGER_RULES)
    produce(chain, c.node, [report(d, c.chain_id, 1) for d in c.devices])
    block, result = chain.propose([report(d, c.chain_id, 2) for d in c.devices], c.node.key_id,
                                  chain.state.last_time + 10)
    received = parse_block(decode(canonical(block.to_obj())))
    assert received.id == block.id and [x.hash for x in received.txs] == [x.hash for x in block.txs]
    assert chain.check_block(received).app_hash == result.app_hash
    bad = block.to_obj()
    bad["header"] = {**bad["header"], "app_hash": "0" * 64}
    with pytest.raises(BlockError) as info:
        chain.check_block(parse_block(bad))
    assert info.value.code == "bad_app_hash"
    with pytest.raises(BlockError):
        parse_block({"header": {}, "txs": [], "last_commit": None})
    engine.dispose()


def test_snapshot_reads_one_committed_state(built):
    """A reader racing a commit must not see a torn state (the head of one commit, the blocks of the next)."""
    c, chain = built
    store = chain.store
    before = store.load_state(LEDGER_RULES)
    with store.snapshot() as reader:
        head = reader.execute(sa.select(sa.func.max(t.blocks.c.height))).scalar()
        produce(chain, c.node, [])  # a commit from another connection while the reader is open
        again = reader.execute(sa.select(sa.func.max(t.blocks.c.height))).scalar()
        meta_height = reader.execute(sa.select(t.meta.c.value).where(t.meta.c.key == "height")).scalar()
    assert head == again == int(meta_height) == before.height
    assert store.load_state(LEDGER_RULES).height == before.height + 1
