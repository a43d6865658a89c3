"""Re-verify a whole stored chain from the genesis file alone.

For every block: the stored id is the hash of the header, header links and times, the previous
block's commit (quorum of that height's validators), the Merkle root over the stored
transactions, every transaction signature and rule (replayed on a fresh state from genesis), the
app_hash, and this block's own commit. The first problem stops the run with its height.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ledger_core import block as blk
from ledger_core.block import BlockError
from ledger_core.chain import replay_block
from ledger_core.genesis import Genesis
from ledger_core.state import LedgerState
from ledger_core.store import LedgerStore
from ledger_core.tx import TxError, from_bytes


class Cancelled(Exception):
    """The caller asked to stop."""


@dataclass
class VerifyReport:
    ok: bool
    height: int  # the last verified height, or the failing one
    transactions: int
    blocks: int
    seconds: float
    tx_per_s: float
    app_hash: str
    chain_id: str
    code: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        d["tx_per_s"] = round(self.tx_per_s, 1)
        return {k: v for k, v in d.items() if v is not None}


def _check_row(state: LedgerState, row: Any, txrows: list[Any], prev_validators: dict[str, bytes] | None):
    header = blk.parse_header(row.header)
    bid = blk.block_id(header)
    if row.block_id != bid:
        raise BlockError("block_id_mismatch", "the stored block id is not the hash of its header")
    if (row.height, row.time, row.proposer, row.num_txs) != (
        header["height"], header["time"], header["proposer"], len(txrows)
    ):
        raise BlockError("index_mismatch", "stored block columns disagree with the header")
    last_commit = None if row.last_commit is None else blk.parse_commit(row.last_commit)
    txs = []
    for i, x in enumerate(txrows):
        if x.idx != i:
            raise BlockError("tx_order", f"transaction index {x.idx} where {i} was expected")
        try:
            tx = from_bytes(bytes(x.raw), max_bytes=state.param("max_tx_bytes"))
        except TxError as exc:
            raise BlockError("bad_tx", f"transaction {i} is malformed ({exc.code}: {exc})") from None
        if tx.hash != x.hash:
            raise BlockError("tx_hash_mismatch", f"transaction {i}: stored hash is not the hash of its bytes")
        txs.append(tx)
    replayed = replay_block(state, header, txs, last_commit, prev_validators)
    signers = dict(state.validators())
    blk.verify_commit(blk.parse_commit(row.commit), state.chain_id, row.height, bid, signers)
    state.apply(replayed.result, bid)
    return signers, len(txs)


def verify_chain(
    genesis: Genesis,
    store: LedgerStore,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> VerifyReport:
    started = time.perf_counter()
    state, _writes = LedgerState.from_genesis(genesis)
    top = store.height()
    ntx = nblocks = 0
    prev_validators: dict[str, bytes] | None = None
    expected = 1

    def report(ok: bool, height: int, code: str | None = None, reason: str | None = None) -> VerifyReport:
        secs = time.perf_counter() - started
        return VerifyReport(ok, height, ntx, nblocks, secs, ntx / secs if secs > 0 else 0.0,
                            state.app_hash, genesis.chain_id, code, reason)

    have = store.chain_id()
    if have is not None and have != genesis.chain_id:
        return report(False, 0, "wrong_chain", "the database holds another chain than this genesis")
    for row, txrows in store.iter_blocks(1):
        if row.height > top:
            break  # a running node keeps adding blocks: verify what existed at the start
        if cancel is not None and cancel():
            raise Cancelled()
        if row.height != expected:
            return report(False, expected, "missing_block", f"block {expected} is missing")
        try:
            prev_validators, n = _check_row(state, row, txrows, prev_validators)
        except BlockError as exc:
            return report(False, row.height, exc.code, str(exc))
        ntx += n
        nblocks += 1
        expected += 1
        if progress is not None:
            progress(row.height, top)
    meta = store.meta()
    if int(meta.get("height", 0)) == state.height and meta.get("app_hash") != state.app_hash:
        return report(False, state.height, "bad_head", "the stored chain head disagrees with the replay")
    if state.height < top:
        return report(False, state.height + 1, "missing_block", f"block {state.height + 1} is missing")
    return report(True, state.height)
