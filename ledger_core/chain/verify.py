"""Re-verify a whole stored chain from the genesis file alone.

For every block: the stored id is the hash of the header, header links and times, the previous
block's commit (quorum of that height's validators), the Merkle root over the stored
transactions, every transaction signature and rule (replayed on a fresh state from genesis), the
app_hash, and this block's own commit. The first problem stops the run with its height.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bedrock.cancel import Cancelled
from ledger_core.chain import block as blk
from ledger_core.chain.block import BlockError
from ledger_core.chain.genesis import PARAMS, Genesis
from ledger_core.chain.replica import replay_block
from ledger_core.chain.signature_farm import SignatureFarm, commit_jobs, tx_jobs
from ledger_core.chain.state import LedgerState
from ledger_core.chain.state_view import Rules
from ledger_core.chain.store import LedgerStore
from ledger_core.chain.tx import Tx, TxError, from_bytes
from ledger_core.crypto.signing import VerifiedCache

MAX_TX_BYTES = PARAMS["max_tx_bytes"][2]
CHUNK_TXS = 4000  # transactions parsed and sent for signature checks ahead of the replay


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


def _parse_txs(txrows: list[Any]) -> list[Tx]:
    txs = []
    for i, x in enumerate(txrows):
        if x.idx != i:
            raise BlockError("tx_order", f"transaction index {x.idx} where {i} was expected")
        try:
            tx = from_bytes(
                bytes(x.raw), max_bytes=MAX_TX_BYTES
            )  # the height's limit: replay_block
        except TxError as exc:
            raise BlockError(
                "bad_tx", f"transaction {i} is malformed ({exc.code}: {exc})"
            ) from None
        if tx.hash != x.hash:
            raise BlockError(
                "tx_hash_mismatch", f"transaction {i}: stored hash is not the hash of its bytes"
            )
        txs.append(tx)
    return txs


def _check_row(
    state: LedgerState,
    row: Any,
    txs: list[Tx],
    prev_validators: dict[str, bytes] | None,
    cache: VerifiedCache | None,
) -> dict[str, bytes]:
    header = blk.parse_header(row.header)
    bid = blk.block_id(header)
    if row.block_id != bid:
        raise BlockError("block_id_mismatch", "the stored block id is not the hash of its header")
    if (row.height, row.time, row.proposer, row.num_txs) != (
        header["height"],
        header["time"],
        header["proposer"],
        len(txs),
    ):
        raise BlockError("index_mismatch", "stored block columns disagree with the header")
    last_commit = None if row.last_commit is None else blk.parse_commit(row.last_commit)
    replayed = replay_block(state, header, txs, last_commit, prev_validators, cache)
    signers = dict(state.validators())
    blk.verify_commit(blk.parse_commit(row.commit), state.chain_id, row.height, bid, signers, cache)
    state.apply(replayed.result, bid)
    return signers


def verify_chain(
    genesis: Genesis,
    store: LedgerStore,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    workers: int = 1,
    *,
    rules: Rules,
) -> VerifyReport:
    """Verify every stored block in order; `workers` > 1 checks signatures ahead in that many
    processes (worth it from a few thousand transactions)."""
    started = time.perf_counter()
    state, _writes = LedgerState.from_genesis(genesis, rules)
    top = store.height()
    ntx = nblocks = 0
    prev_validators: dict[str, bytes] | None = None
    expected = 1

    def report(
        ok: bool, height: int, code: str | None = None, reason: str | None = None
    ) -> VerifyReport:
        secs = time.perf_counter() - started
        return VerifyReport(
            ok,
            height,
            ntx,
            nblocks,
            secs,
            ntx / secs if secs > 0 else 0.0,
            state.app_hash,
            genesis.chain_id,
            code,
            reason,
        )

    have = store.chain_id()
    if have is not None and have != genesis.chain_id:
        return report(False, 0, "wrong_chain", "the database holds another chain than this genesis")
    farm = SignatureFarm(workers) if workers > 1 else None
    cache = VerifiedCache(capacity=10**7) if farm else None

    def rows_in_chunks():
        chunk: list[tuple[Any, list[Any]]] = []
        size = 0
        for row, txrows in store.iter_blocks(1):
            if row.height > top:
                break  # a running node keeps adding blocks: verify what existed at the start
            chunk.append((row, txrows))
            size += len(txrows) + 1
            if size >= CHUNK_TXS:
                yield chunk
                chunk, size = [], 0
        if chunk:
            yield chunk

    def prepare(chunk):
        parsed: list[tuple[Any, list[Tx] | BlockError]] = []
        all_txs: list[Tx] = []
        for row, txrows in chunk:
            try:
                txs = _parse_txs(txrows)
            except BlockError as exc:
                parsed.append((row, exc))
                break  # the replay stops at this row
            parsed.append((row, txs))
            all_txs.extend(txs)
        if farm is None:
            return parsed, []
        commits = []
        for row, _txs in parsed:
            with contextlib.suppress(BlockError):  # refused in line, at its height
                commits.append(blk.parse_commit(row.commit))
        # the head's validator set: commits after a set change are checked in line
        jobs = tx_jobs(state.tables["participant"], all_txs) + commit_jobs(
            state.chain_id, state.validators(), commits)
        return parsed, farm.submit(jobs)

    try:
        chunks = rows_in_chunks()
        nxt = next(chunks, None)
        current = prepare(nxt) if nxt is not None else None
        while current is not None:
            nxt = next(chunks, None)
            upcoming = prepare(nxt) if nxt is not None else None
            parsed, futures = current
            for fut in futures:
                for h in fut.result():
                    cache.add(h)
            for row, txs in parsed:
                if cancel is not None and cancel():
                    raise Cancelled()
                if row.height != expected:
                    return report(False, expected, "missing_block", f"block {expected} is missing")
                try:
                    if isinstance(txs, BlockError):
                        raise txs
                    prev_validators = _check_row(state, row, txs, prev_validators, cache)
                except BlockError as exc:
                    return report(False, row.height, exc.code, str(exc))
                ntx += len(txs)
                nblocks += 1
                expected += 1
                if progress is not None:
                    progress(row.height, top)
            current = upcoming
    finally:
        if farm is not None:
            farm.close()
    meta = store.meta()
    if int(meta.get("height", 0)) == state.height and meta.get("app_hash") != state.app_hash:
        return report(
            False, state.height, "bad_head", "the stored chain head disagrees with the replay"
        )
    if state.height < top:
        return report(
            False, state.height + 1, "missing_block", f"block {state.height + 1} is missing"
        )
    return report(True, state.height)
