"""The consensus reactor: Tendermint (`consensus.Tendermint`) driven by asyncio timers.

Message `{"t": "cons", "m": <consensus message>}`. One state machine on the loop; this module
carries out its outputs:

* proposals carry the block built by `Chain.propose` (payload = `Block.to_obj()`, value id =
  block id); `valid` parses the payload, checks that its id is the value id and runs
  `Chain.check_block`; a decision is persisted through `Chain.persist` (one database
  transaction, in a worker thread) under the commit lock shared with block sync, then
  `Node.apply_decided`; the commit (the quorum of precommits, `commit_of`) is carried in the
  next block by `Chain.propose`.
* a node whose key is a validator of the height signs through `GuardedSigner`
  (`<data-dir>/signer_state.json`, fsync before every signature); any other node follows
  consensus without voting. Double signing it sees goes to `on_evidence`.
* after a decision the next height starts at once when transactions are pending, else after
  `heartbeat_s` (empty heartbeat blocks), or as soon as a message of the next height arrives;
  when block sync moved the head, consensus restarts at the new height with that height's
  validator set (so membership changes take effect at H+2 on every node: the state computes
  the set, consensus only reads it).
* when height/round have not moved for `gossip_s`, `gossip_messages()` are re-sent (`tick`).
* when the round's proposer is not connected (crashed, partitioned, banned), the propose step
  times out after `ABSENT_PROPOSER_S` instead of the full propose timeout: prevoting nil early
  is the machine's own timeout rule fired sooner, which Tendermint's safety does not depend
  on, and it keeps one absent validator from costing every fourth height a whole timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger_core.chain.block import Block, BlockError, parse_block
from ledger_core.chain.replica import Chain
from ledger_core.chain.state import BlockResult
from ledger_core.consensus import (
    PROPOSAL,
    PROPOSE,
    Broadcast,
    CachedVerifier,
    Decide,
    DoubleSign,
    EvidenceFound,
    GuardedSigner,
    ScheduleTimeout,
    Tendermint,
    TimeoutConfig,
    ValidatorSet,
    Value,
)
from ledger_core.consensus.messages import from_wire
from ledger_core.consensus.timeliness import untimely
from ledger_core.crypto.keys import KeyPair
from ledger_core.net.peer_score import FATAL
from ledger_core.node.clock import now_ms
from ledger_core.node.router import Handler
from ledger_core.node.runtime import Reactor, Shared

log = logging.getLogger("bcmlp.consensus")
ABSENT_PROPOSER_S = 0.25


def validator_set(chain: Chain) -> ValidatorSet:
    """The validators of the chain's next height, sorted by key id (the proposer order)."""
    return ValidatorSet(list(chain.state.validators().values()))


def commit_of(d: Decide) -> dict[str, Any]:
    """The block commit (block.verify_commit format) from the decision's precommits."""
    sigs = sorted(
        (
            {"validator": m.validator, "signature": m.signature.hex()}
            for m in d.commit
            if m.block_id == d.value.block_id and m.round == d.round
        ),
        key=lambda x: x["validator"],
    )
    return {"height": d.height, "round": d.round, "block_id": d.value.block_id, "signatures": sigs}


def cons_message(m: Any) -> dict[str, Any]:
    return {"t": "cons", "m": m.to_wire()}


class ConsensusReactor(Reactor):
    """Tendermint for one node (see module docstring). `announce()` tells peers our new head
    after a commit; `on_evidence(ev)` keeps double-sign evidence found by the machine."""

    def __init__(
        self,
        shared: Shared,
        keys: KeyPair,
        data_dir: Path,
        *,
        timeouts: TimeoutConfig | None,
        heartbeat_s: float,
        gossip_s: float,
        announce: Callable[[], None],
        on_evidence: Callable[[DoubleSign], None],
    ) -> None:
        super().__init__(shared)
        self.keys = keys
        self.heartbeat_s = heartbeat_s
        self.gossip_s = gossip_s
        self.announce = announce
        self.on_evidence = on_evidence
        self.guarded = GuardedSigner.open(
            Path(data_dir) / "signer_state.json", keys, self.chain.chain_id
        )
        self.sm = Tendermint(
            self.chain.chain_id,
            validator_set(self.chain),
            None,
            self._get_value,
            self._valid,
            timeouts or TimeoutConfig(),
            verify=CachedVerifier(),
        )
        self.last_votes: dict[str, dict[str, Any]] = {}
        self._built: dict[str, tuple[Block, BlockResult]] = {}
        self._checked: dict[str, tuple[Block, BlockResult]] = {}
        self._decided_at: float | None = None  # set while waiting to start the next height
        self._next_seen = False
        self._progress = (0, 0, time.monotonic())
        self._refused: set[str] = set()  # block ids of proposals refused by `_screen`
        self._parsed: dict[str, tuple[Any, Block]] = {}  # block id -> (payload, its block)

    def routes(self) -> dict[str, Handler]:
        return {"cons": self.on_consensus}

    def is_validator(self) -> bool:
        return self.keys.key_id in self.chain.state.validators()

    # -- state machine callbacks (synchronous, on the loop) --------------------------------

    def _get_value(self, height: int) -> Value:
        # Chain.propose keeps the block within MAX_BLOCK_BYTES (one proposal, one sync item)
        block, result = self.chain.propose(self.node.candidates(), self.keys.key_id, now_ms())
        self._built[block.id] = (block, result)
        return Value(block.id, block.to_obj())

    def _parse_proposal(self, value: Value) -> Block:
        """The value's block, checked for what no honest proposer gets wrong whatever our own
        state: form, size, id, and time not ahead of our clock; BlockError otherwise. Parsed
        once per value (the screen and the validity check both ask)."""
        seen = self._parsed.get(value.block_id)
        if seen is not None and seen[0] is value.payload:
            return seen[1]
        block = parse_block(
            value.payload,
            max_txs=self.chain.state.param("max_block_txs"),
            max_tx_bytes=self.chain.state.param("max_tx_bytes"),
        )
        if block.id != value.block_id:
            raise BlockError("block_id_mismatch", "the payload is not the proposed block id")
        late = untimely(block.header["time"], -1, now_ms())
        if late is not None:
            raise BlockError(late, f"block time {block.header['time']} is ahead of our clock")
        self._parsed[value.block_id] = (value.payload, block)
        return block

    def _valid(self, value: Value) -> bool:
        if value.block_id in self._built or value.block_id in self._checked:
            return True
        try:
            block = self._parse_proposal(value)
            if block.height != self.chain.height + 1:
                return False
            late = untimely(block.header["time"], self.chain.state.last_time, now_ms())
            if late is not None:
                raise BlockError(late, "block time not after its parent's")
            result = self.chain.check_block(block)
        except BlockError as exc:
            log.info("proposal %s rejected: %s %s", value.block_id[:16], exc.code, exc)
            return False
        self._checked[block.id] = (block, result)
        return True

    def _screen(self, m: Any) -> bool:
        """False for a proposal of our height or the next (which the machine keeps for later),
        signed by its author, that breaks a rule no honest proposer breaks (`_parse_proposal`):
        it is dropped and its author banned. The signer is checked against the current set
        (membership changes take effect two heights later)."""
        if m.type != PROPOSAL or m.block_id is None or m.height - self.sm.height not in (0, 1):
            return True
        if m.block_id in self._refused:
            return False
        vs = self.sm.validators
        if m.validator not in vs or not self.sm.verify(
            vs.public_key(m.validator), m.signature, m.sign_bytes()
        ):
            return True  # not provably its author's: the state machine drops it
        try:
            self._parse_proposal(m.value)
        except BlockError as exc:
            code, detail = exc.code, str(exc)
        except Exception as exc:  # a peer's data never raises out of here
            log.exception("proposal %s could not be checked", m.block_id[:16])
            code, detail = "proposal_check_failed", repr(exc)[:200]
        else:
            return True
        self._refused.add(m.block_id)
        log.warning("proposal %s by %s refused: %s %s", m.block_id[:16], m.validator[:16],
                    code, detail)
        if m.validator != self.keys.key_id:
            self.link.penalize(m.validator, code, FATAL, detail)
        return False

    # -- carrying out outputs -------------------------------------------------------------

    def _do(self, outs: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        for o in outs:
            if isinstance(o, Broadcast):
                self._note_vote(o.message)
                self.link.broadcast(cons_message(o.message))
            elif isinstance(o, ScheduleTimeout):
                loop.call_later(o.delay_ms / 1000, self._on_timeout, o)
            elif isinstance(o, Decide):
                self.tasks.spawn(self._commit_decided(o), finish=True)
            elif isinstance(o, EvidenceFound):
                self.on_evidence(o.evidence)

    def _on_timeout(self, t: ScheduleTimeout) -> None:
        if not self.tasks.stopping.is_set():
            self._do(self.sm.on_timeout(t))

    def _note_vote(self, m: Any) -> None:
        if m.type != "proposal":
            self.last_votes[m.validator] = {
                "type": m.type, "height": m.height, "round": m.round, "block_id": m.block_id,
                "at_ms": now_ms(),
            }

    # -- heights --------------------------------------------------------------------------

    def start_next_height(self) -> None:
        self._decided_at = None
        self._next_seen = False
        self._built.clear()
        self._checked.clear()
        self._refused.clear()
        self._parsed.clear()
        h = self.chain.height + 1
        self.sm.signer = self.guarded if self.is_validator() else None
        self._do(self.sm.start_height(h, validator_set(self.chain)))
        self._progress = (h, self.sm.round, time.monotonic())

    def maybe_start_next(self) -> None:
        """After a decision: start the next height when it is time (see module docstring)."""
        if self._decided_at is None or self.commit_lock.locked():
            return
        if (
            len(self.node.mempool)
            or self._next_seen
            or time.monotonic() - self._decided_at >= self.heartbeat_s
        ):
            self.start_next_height()

    def head_moved(self) -> None:
        """Block sync applied blocks: restart at the new head unless consensus is there."""
        if self.sm.height <= self.chain.height:
            self.start_next_height()

    async def _apply(self, block: Block, commit: dict[str, Any], result: BlockResult) -> None:
        """Persist (checks the commit's quorum) and advance; the caller holds the commit lock."""
        signers = await asyncio.to_thread(self.chain.persist, block, commit, result)
        self.node.apply_decided(block, commit, result, signers)
        # any participant write may have revoked a peer's node key (cheap: a lookup per peer)
        await self.link.recheck_authorization()

    async def _commit_decided(self, d: Decide) -> None:
        async with self.commit_lock:
            if d.height != self.chain.height + 1:
                return  # block sync got there first
            got = self._built.get(d.value.block_id) or self._checked.get(d.value.block_id)
            if got is None:
                try:
                    block = parse_block(d.value.payload)
                    got = (block, self.chain.check_block(block))
                except BlockError as exc:  # a quorum decided what we cannot apply: sync will tell
                    log.error("decided block %s does not check here: %s %s",
                              d.value.block_id[:16], exc.code, exc)
                    return
            block, result = got
            await self._apply(block, commit_of(d), result)
        log.debug("height %d decided in round %d (%d txs)", d.height, d.round, len(block.txs))
        self._decided_at = time.monotonic()
        self.announce()
        self.maybe_start_next()

    # -- peer messages and timers ---------------------------------------------------------

    def on_consensus(self, kid: str, msg: dict[str, Any]) -> None:
        """A peer's consensus message; MessageError for one to drop (the router logs it)."""
        m = from_wire(msg.get("m"), self.chain.chain_id)
        if self.sm.step == "commit" and m.height == self.sm.height + 1:
            self._next_seen = True
        if not self._screen(m):
            return
        outs = self.sm.on_message(m)
        if m.height == self.sm.height:
            self._note_vote(m)
        self._do(outs)
        self.maybe_start_next()

    def tick(self, now: float, sync_idle: bool) -> None:
        """Every tick of the producer: start the next height when due (also after block sync
        moved the head while no batch is on its way), re-send gossip when stuck."""
        self.maybe_start_next()
        if (
            self.sm.height <= self.chain.height
            and self._decided_at is None
            and not self.commit_lock.locked()
            and sync_idle
        ):
            self.start_next_height()
        h, r, since = self._progress
        if (self.sm.height, self.sm.round) != (h, r):
            self._progress = (self.sm.height, self.sm.round, now)
        elif now - since >= ABSENT_PROPOSER_S and self._proposer_absent():
            self._do(self.sm.on_timeout(ScheduleTimeout(h, r, PROPOSE, 0)))
        elif now - since >= self.gossip_s:
            for m in self.sm.gossip_messages():
                self.link.broadcast(cons_message(m))
            self._progress = (h, r, now)

    def _proposer_absent(self) -> bool:
        """In the propose step of a round whose proposer is another node we are not connected
        to (or have banned)."""
        if self.sm.step != PROPOSE or self.sm.height <= self.chain.height:
            return False
        proposer = self.sm.validators.proposer(self.sm.height, self.sm.round)
        return proposer != self.keys.key_id and not self.link.connected(proposer)

    def status(self) -> dict[str, Any]:
        """The consensus part of the status answer."""
        n = len(self.chain.state.validators())
        return {"consensus": {**self.sm.status(), "quorum": 2 * n // 3 + 1},
                "last_votes": self.last_votes}
