"""A chain = store + state + verified-signature cache: admit, propose, check and commit blocks.

Consensus-agnostic: the single-validator producer (node.py) and a consensus engine both call
`propose` (build a block from candidate txs), `check_block` (re-execute someone else's block) and
`commit` (persist a decided block with its commit). `replay_block` is also what `chain verify` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger_core.chain import block as blk
from ledger_core.chain.block import Block, BlockError
from ledger_core.chain.genesis import Genesis
from ledger_core.chain.state import BlockResult, LedgerState
from ledger_core.chain.state_view import Rules
from ledger_core.chain.store import LedgerStore, StoreError
from ledger_core.chain.tx import Tx, TxError
from ledger_core.crypto.signing import VerifiedCache


@dataclass(frozen=True)
class Replayed:
    result: BlockResult
    block_id: str


def replay_block(
    state: LedgerState,
    header: dict[str, Any],
    txs: list[Tx],
    last_commit: dict[str, Any] | None,
    prev_validators: dict[str, bytes] | None,
    cache: VerifiedCache | None = None,
    verified_commit_hash: str | None = None,
) -> Replayed:
    """Check a block against the state at its parent: header links, last commit, Merkle root,
    every transaction, and that execution yields the header's app_hash. Raises BlockError.
    `verified_commit_hash`: the hash of a commit for the parent that the caller has already
    checked; a last commit with that hash (same bytes) is not verified again."""
    h = header["height"]
    if header["chain_id"] != state.chain_id:
        raise BlockError("wrong_chain", "the header names another chain")
    if h != state.height + 1:
        raise BlockError("bad_height", f"expected height {state.height + 1}, found {h}")
    if header["prev_hash"] != state.last_block_id:
        raise BlockError("bad_prev_hash", "prev_hash is not the id of the previous block")
    if h > 1 and header["time"] <= state.last_time or h == 1 and header["time"] < state.last_time:
        raise BlockError("bad_time", "block time does not increase")
    if header["last_commit_hash"] != blk.commit_hash(last_commit):
        raise BlockError("bad_last_commit_hash", "last_commit_hash does not match the last commit")
    if h == 1:
        if last_commit is not None:
            raise BlockError("bad_last_commit", "the first block carries no last commit")
    else:
        if last_commit is None or prev_validators is None:
            raise BlockError("bad_last_commit", "the last commit is missing")
        if header["last_commit_hash"] != verified_commit_hash:
            blk.verify_commit(last_commit, state.chain_id, h - 1, state.last_block_id, prev_validators, cache)
    validators = state.validators()
    if header["validators_hash"] != state.validators_hash():
        raise BlockError("bad_validators_hash", "validators_hash is not the current validator set")
    if header["proposer"] not in validators:
        raise BlockError("bad_proposer", "the proposer is not a current validator")
    if header["tx_root"] != blk.tx_root([x.hash for x in txs]):
        raise BlockError("bad_tx_root", "tx_root is not the Merkle root of the transactions")
    try:
        result = state.execute(txs, h, header["time"], cache, drop_invalid=False)
    except TxError as exc:
        raise BlockError("invalid_tx", f"a transaction is invalid ({exc.code}: {exc})") from None
    if result.app_hash != header["app_hash"]:
        raise BlockError("bad_app_hash", "replaying the transactions gives another app_hash")
    return Replayed(result, blk.block_id(header))


class Chain:
    """The node's view of its chain; one writer (the block producer or consensus driver)."""

    def __init__(self, store: LedgerStore, genesis: Genesis, *, rules: Rules) -> None:
        self.store = store
        self.genesis = genesis
        self.cache = VerifiedCache()
        state = store.load_state(rules)
        if state is None:
            state, writes = LedgerState.from_genesis(genesis, rules)
            store.init_genesis(state, writes)
        elif state.chain_id != genesis.chain_id:
            raise StoreError(
                f"the database holds chain {state.chain_id[:16]}, not {genesis.chain_id[:16]}"
            )
        self.state = state
        head = store.block(state.height) if state.height else None
        self.last_commit: dict[str, Any] | None = head["commit"] if head else None
        # the validator set that signed the head block: checks the next block's last commit
        self._prev_validators: dict[str, bytes] | None = store.head_validators()
        self._head_commit_hash: str | None = None  # the head's commit, once checked here

    @property
    def chain_id(self) -> str:
        return self.genesis.chain_id

    @property
    def height(self) -> int:
        return self.state.height

    def admit(self, tx: Tx, pending_nonce: int | None = None) -> None:
        """All checks for entry into the mempool (signature verified once, then cached)."""
        self.state.admit(tx, pending_nonce, self.cache)

    def propose(
        self, candidates: list[Tx], proposer: str, time_ms: int
    ) -> tuple[Block, BlockResult]:
        """Execute candidates for the next height (invalid ones dropped) and build the block."""
        h = self.state.height + 1
        time_ms = max(time_ms, self.state.last_time + 1)
        candidates = blk.fitting(candidates[: self.state.param("max_block_txs")], self.last_commit)
        result = self.state.execute(candidates, h, time_ms, self.cache)
        header = blk.make_header(
            self.chain_id,
            h,
            time_ms,
            self.state.last_block_id,
            [x.hash for x in result.accepted],
            result.app_hash,
            result.validators_hash,
            proposer,
            self.last_commit,
        )
        return Block(header, result.accepted, self.last_commit), result

    def check_block(self, block: Block) -> BlockResult:
        """Validate a block proposed by another validator (for consensus); raises BlockError."""
        return replay_block(
            self.state,
            block.header,
            block.txs,
            block.last_commit,
            self._prev_validators,
            self.cache,
            self._head_commit_hash,
        ).result

    def persist(
        self, block: Block, commit: dict[str, Any], result: BlockResult
    ) -> dict[str, bytes]:
        """Check the commit and write the block atomically (safe beside concurrent readers of
        the in-memory state); returns the signing validator set for `advance`."""
        signers = self.check_commit(block, commit)
        self.store.save_block(block, commit, result, signers)
        return signers

    def check_commit(self, block: Block, commit: dict[str, Any]) -> dict[str, bytes]:
        """A quorum of the current validator set signed `commit` for `block`; returns the set."""
        signers = dict(self.state.validators())
        blk.verify_commit(commit, self.chain_id, block.height, block.id, signers, self.cache)
        return signers

    def persist_many(
        self, entries: list[tuple[Block, dict[str, Any], BlockResult, dict[str, bytes]]]
    ) -> None:
        """Write blocks already checked (`check_block`, `check_commit`) and advanced in memory,
        in one database transaction (block sync)."""
        self.store.save_blocks(entries)

    def advance(
        self, block: Block, commit: dict[str, Any], result: BlockResult, signers: dict[str, bytes]
    ) -> None:
        """Move the in-memory state to the persisted block (its commit checked by `persist` or
        `check_commit`)."""
        self._prev_validators = signers
        self.state.apply(result, block.id)
        self.last_commit = commit
        # persist/check_commit verified it: the next block's copy need not be checked again
        self._head_commit_hash = blk.commit_hash(commit)

    def commit(self, block: Block, commit: dict[str, Any], result: BlockResult) -> None:
        """Persist a decided block with its commit, then advance the in-memory state."""
        self.advance(block, commit, result, self.persist(block, commit, result))
