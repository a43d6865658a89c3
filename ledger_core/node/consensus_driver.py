"""The consortium block producer: Tendermint driven by asyncio timers over the peer Transport.

Replaces `node.SingleValidatorProducer` for a chain with several validators. One asyncio task
owns the state machine (`consensus.Tendermint`); everything else feeds it on the same loop:

* proposals carry the block built by `Chain.propose` (payload = `Block.to_obj()`, value id =
  block id); `valid` parses the payload, checks that its id is the value id and runs
  `Chain.check_block`; a decision is persisted through `Chain.persist` (one database
  transaction, in a worker thread), then `Node.apply_decided`; the commit (the quorum of
  precommits) is carried in the next block by `Chain.propose`.
* peer messages (canonical JSON over the authenticated Transport): `{"t": "txs", "txs": [...]}`
  mempool gossip (local submissions to every peer; full nodes also relay what peers send), `{"t": "cons", "m": <consensus message>}`, `{"t": "status", "height": H}`
  (sent every `status_s`), the block-sync pair `get_blocks`/`blocks` (see `sync`), and
  `{"t": "evidence", "e": <double-sign evidence>}`, passed on once by every node that verifies it.
* a node whose key is a validator of the height signs through `GuardedSigner`
  (`<data-dir>/signer_state.json`, fsync before every signature); any other node follows
  consensus without voting, syncs and relays. Evidence of double signing is appended to
  `<data-dir>/evidence.jsonl`.
* after a decision the next height starts at once when transactions are pending, else after
  `heartbeat_s` (empty heartbeat blocks), or as soon as a message of the next height arrives.
* when height/round have not moved for `gossip_s`, `gossip_messages()` are re-sent; when a peer
  announces a height above ours, blocks are fetched in batches, checked and applied, and
  consensus restarts at the new height with that height's validator set (so membership changes
  take effect at H+2 on every node: the state computes the set, consensus only reads it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ledger_core.chain.block import Block, BlockError, parse_block
from ledger_core.chain.signature_farm import SignatureFarm, default_workers
from ledger_core.chain.state import BlockResult
from ledger_core.chain.tx import Tx
from ledger_core.consensus import (
    Broadcast,
    CachedVerifier,
    Decide,
    DoubleSign,
    EvidenceError,
    EvidenceFound,
    EvidencePool,
    GuardedSigner,
    MessageError,
    ScheduleTimeout,
    Tendermint,
    TimeoutConfig,
    ValidatorSet,
    Value,
)
from ledger_core.consensus.messages import from_wire
from ledger_core.crypto.keys import KeyPair
from ledger_core.net import transport as tp
from ledger_core.net.peer import Peer
from ledger_core.node import sync
from ledger_core.node.producer import Node, now_ms

log = logging.getLogger("bcmlp.consensus")

MAX_PROPOSAL_TX_BYTES = 3 * 1024 * 1024  # the proposal must fit one 4 MiB frame
TX_GOSSIP_BATCH = 2000
SYNC_BATCH = 200
SYNC_TIMEOUT_S = 10.0
SYNC_AHEAD = 2  # fetched batches waiting to be applied before the next is asked for
SYNC_CHUNK = 50  # blocks checked on the loop between two database writes
EVIDENCE_MAX_AGE = 1000  # heights: older evidence from peers is not checked or kept
FARM_MIN_BLOCKS = 100  # a batch this long starts the signature worker process


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


class ConsensusProducer:
    """Network + consensus + sync for one node (the `BlockProducer` of `Node.run`)."""

    def __init__(
        self,
        node: Node,
        keys: KeyPair,
        data_dir: Path,
        *,
        listen: tuple[str, int] = ("127.0.0.1", 0),
        peers: list[tuple[str, int]] | None = None,
        discovery: Callable[[int, Callable[[Any], Any]], Any] | None = None,
        timeouts: TimeoutConfig | None = None,
        heartbeat_s: float = 1.0,
        gossip_s: float = 1.0,
        status_s: float = 0.5,
    ) -> None:
        self.node = node
        self.chain = node.chain
        self.keys = keys
        self.data_dir = Path(data_dir)
        self.listen = listen
        self.static_peers = list(peers or [])
        self.discovery_factory = discovery
        self.discovery: Any = None
        self.heartbeat_s = heartbeat_s
        self.gossip_s = gossip_s
        self.status_s = status_s
        self.guarded = GuardedSigner.open(self.data_dir / "signer_state.json", keys, self.chain.chain_id)
        self.evidence = EvidencePool()
        self.sm = Tendermint(
            self.chain.chain_id,
            self._validator_set(),
            None,
            self._get_value,
            self._valid,
            timeouts or TimeoutConfig(),
            verify=CachedVerifier(),
        )
        self.transport: tp.Transport | None = None
        self.address: tuple[str, int] | None = None
        self.peer_heights: dict[str, int] = {}
        self.last_votes: dict[str, dict[str, Any]] = {}
        self._built: dict[str, tuple[Block, BlockResult]] = {}
        self._checked: dict[str, tuple[Block, BlockResult]] = {}
        self._commit_lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._decided_at: float | None = None  # set while waiting to start the next height
        self._next_seen = False
        self._progress = (0, 0, time.monotonic())
        self._tx_out: list[dict[str, Any]] = []
        self._tx_flush_scheduled = False
        self._from_peer: str | None = None
        self._sync_pending: tuple[str, float] | None = None
        self._serving: dict[str, tuple[int, int] | None] = {}  # peer -> its queued request
        self._tasks: set[asyncio.Task[Any]] = set()
        self.synced_blocks = 0
        self._failure: BaseException | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sync-writer")
        self._farm: SignatureFarm | None = None
        self._syncing = 0  # fetched batches not yet applied
        self._fetched_to = 0  # the highest height fetched (applied or not)

    # -- validator sets and authorization -------------------------------------------------

    def _validator_set(self) -> ValidatorSet:
        vals = self.chain.state.validators()  # sorted by key id: the proposer order
        return ValidatorSet(list(vals.values()))

    def is_validator(self) -> bool:
        return self.keys.key_id in self.chain.state.validators()

    def _authorized(self, kid: str) -> bool:
        p = self.chain.state.tables["participant"].get(kid)
        return p is not None and p["status"] == "active" and p["kind"] == "node"

    # -- state machine callbacks (synchronous, on the loop) --------------------------------

    def _get_value(self, height: int) -> Value:
        txs: list[Tx] = []
        size = 0
        for tx in self.node.candidates():
            size += len(tx.raw)
            if size > MAX_PROPOSAL_TX_BYTES:
                break
            txs.append(tx)
        block, result = self.chain.propose(txs, self.keys.key_id, now_ms())
        self._built[block.id] = (block, result)
        return Value(block.id, block.to_obj())

    def _valid(self, value: Value) -> bool:
        if value.block_id in self._built or value.block_id in self._checked:
            return True
        try:
            block = parse_block(
                value.payload,
                max_txs=self.chain.state.param("max_block_txs"),
                max_tx_bytes=self.chain.state.param("max_tx_bytes"),
            )
            if block.id != value.block_id or block.height != self.chain.height + 1:
                return False
            result = self.chain.check_block(block)
        except BlockError as exc:
            log.info("proposal %s rejected: %s %s", value.block_id[:16], exc.code, exc)
            return False
        self._checked[block.id] = (block, result)
        return True

    # -- carrying out outputs -------------------------------------------------------------

    def _do(self, outs: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        for o in outs:
            if isinstance(o, Broadcast):
                self._note_vote(o.message)
                self._send_all({"t": "cons", "m": o.message.to_wire()})
            elif isinstance(o, ScheduleTimeout):
                loop.call_later(o.delay_ms / 1000, self._on_timeout, o)
            elif isinstance(o, Decide):
                self._spawn(self._commit_decided(o))
            elif isinstance(o, EvidenceFound):
                self._keep_evidence(o.evidence)

    def _on_timeout(self, t: ScheduleTimeout) -> None:
        if not self._stop.is_set():
            self._do(self.sm.on_timeout(t))

    def _send_all(self, msg: dict[str, Any], exclude: tuple[str, ...] = ()) -> None:
        if self.transport is not None:
            try:
                self.transport.broadcast(msg, exclude)
            except ValueError as exc:  # above the frame limit: cannot happen for our own sizes
                log.error("message not sent: %s", exc)

    def _keep_evidence(self, ev: DoubleSign, origin: str | None = None) -> None:
        """Keep new evidence (fsynced to evidence.jsonl) and pass it on to every peer but the
        one it came from; an offence already known goes no further, so gossip ends."""
        if self.evidence.add(ev):
            log.warning("double signing by validator %s at height %d", ev.validator[:16], ev.height)
            with open(self.data_dir / "evidence.jsonl", "ab") as f:
                f.write(ev.encode() + b"\n")
                f.flush()
                os.fsync(f.fileno())
            self._send_all({"t": "evidence", "e": ev.to_json()}, (origin,) if origin else ())

    def _on_evidence(self, kid: str, obj: Any) -> None:
        """Evidence from a peer: kept only when both signatures verify against the current
        validator set and its height is recent (older sets may differ)."""
        try:
            ev = DoubleSign.from_json(obj, self.chain.chain_id)
            if not self.chain.height - EVIDENCE_MAX_AGE <= ev.height <= self.chain.height + 1:
                raise EvidenceError("stale", f"evidence for height {ev.height} is not recent")
            ev.verify(self._validator_set())
        except EvidenceError as exc:
            log.info("dropped evidence from %s: %s", kid[:16], exc.code)
            return
        self._keep_evidence(ev, origin=kid)

    def _note_vote(self, m: Any) -> None:
        if m.type != "proposal":
            self.last_votes[m.validator] = {
                "type": m.type, "height": m.height, "round": m.round, "block_id": m.block_id,
                "at_ms": now_ms(),
            }

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("consensus task failed", exc_info=task.exception())
            self._failure = task.exception()
            self._stop.set()

    # -- heights --------------------------------------------------------------------------

    def _start_next_height(self) -> None:
        self._decided_at = None
        self._next_seen = False
        self._built.clear()
        self._checked.clear()
        h = self.chain.height + 1
        self.sm.signer = self.guarded if self.is_validator() else None
        self._do(self.sm.start_height(h, self._validator_set()))
        self._progress = (h, self.sm.round, time.monotonic())

    def _maybe_start_next(self) -> None:
        if self._decided_at is None or self._commit_lock.locked():
            return
        if (
            len(self.node.mempool)
            or self._next_seen
            or time.monotonic() - self._decided_at >= self.heartbeat_s
        ):
            self._start_next_height()

    async def _apply(self, block: Block, commit: dict[str, Any], result: BlockResult) -> None:
        """Persist (checks the commit's quorum) and advance; the caller holds the commit lock."""
        old_vals = self.chain.state.validators_hash()
        signers = await asyncio.to_thread(self.chain.persist, block, commit, result)
        self.node.apply_decided(block, commit, result, signers)
        if self.chain.state.validators_hash() != old_vals and self.transport is not None:
            await self.transport.recheck_authorization()

    async def _commit_decided(self, d: Decide) -> None:
        async with self._commit_lock:
            if d.height != self.chain.height + 1:
                return  # block sync got there first
            got = self._built.get(d.value.block_id) or self._checked.get(d.value.block_id)
            if got is None:
                block = parse_block(d.value.payload)
                got = (block, self.chain.check_block(block))
            block, result = got
            await self._apply(block, commit_of(d), result)
        log.debug("height %d decided in round %d (%d txs)", d.height, d.round, len(block.txs))
        self._decided_at = time.monotonic()
        self._send_all({"t": "status", "height": self.chain.height})
        self._maybe_start_next()

    # -- peer messages --------------------------------------------------------------------

    def _on_message(self, kid: str, msg: Any) -> Any:
        if type(msg) is not dict:
            return None
        t = msg.get("t")
        try:
            if t == "cons":
                return self._on_consensus(kid, msg.get("m"))
            if t == "txs":
                return self._on_txs(kid, msg.get("txs"))
            if t == "status":
                h = msg.get("height")
                if type(h) is int and h >= 0:
                    self.peer_heights[kid] = h
                    self._maybe_sync()
                return None
            if t == "get_blocks":
                return self._serve_blocks(kid, msg)
            if t == "evidence":
                return self._on_evidence(kid, msg.get("e"))
            if t == "blocks":
                return self._on_blocks(kid, msg.get("blocks"))
        except MessageError as exc:
            log.info("dropped a message from %s: %s", kid[:16], exc.code)
        return None

    def _on_consensus(self, kid: str, wire: Any) -> None:
        m = from_wire(wire, self.chain.chain_id)
        if self.sm.step == "commit" and m.height == self.sm.height + 1:
            self._next_seen = True
        outs = self.sm.on_message(m)
        if m.height == self.sm.height:
            self._note_vote(m)
        self._do(outs)
        self._maybe_start_next()

    def _on_txs(self, kid: str, envs: Any) -> None:
        if type(envs) is not list or len(envs) > TX_GOSSIP_BATCH * 2:
            return
        self._from_peer = kid
        try:
            for env in envs:
                self.node.admit(env)
        finally:
            self._from_peer = None
        self._maybe_start_next()

    def _queue_tx(self, tx: Tx) -> None:
        """Node.on_admitted hook: gossip newly admitted txs, batched per loop turn."""
        self._tx_out.append((tx.envelope(), self._from_peer))
        if len(self._tx_out) >= TX_GOSSIP_BATCH:
            self._flush_txs()
        elif not self._tx_flush_scheduled:
            self._tx_flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_txs)

    def _flush_txs(self) -> None:
        self._tx_flush_scheduled = False
        out, self._tx_out = self._tx_out, []
        if not out or self.transport is None:
            return
        # Local submissions go to every peer. Transactions from a peer are relayed (to every
        # peer but that one) by full nodes only: validators keep a full mesh, so a validator's
        # relay would only make each validator parse every transaction three times; one that
        # misses a transaction still gets it in the block of the validator that holds it.
        relay = not self.is_validator()
        by_origin: dict[str | None, list[Any]] = {}
        for env, origin in out:
            if origin is None or relay:
                by_origin.setdefault(origin, []).append(env)
        for origin, envs in by_origin.items():
            self._send_all({"t": "txs", "txs": envs}, (origin,) if origin else ())
        self._maybe_start_next()

    # -- block sync -----------------------------------------------------------------------

    def _serve_blocks(self, kid: str, msg: dict[str, Any]) -> Any:
        start, limit = msg.get("from"), msg.get("limit")
        if type(start) is not int or type(limit) is not int or start < 1 or start > self.chain.height:
            return None
        if kid in self._serving:
            # one batch per peer at a time; the newest request waits for it (a syncing peer asks
            # for the next batch as soon as one arrives, possibly before our send has finished)
            self._serving[kid] = (start, limit)
            return None
        self._serving[kid] = None

        async def serve(start: int, limit: int) -> None:
            try:
                while True:
                    items = await asyncio.to_thread(sync.read_batch, self.chain.store, start, limit)
                    if self.transport is None or kid not in self.transport.peers:
                        return
                    with contextlib.suppress(KeyError, ConnectionError, TimeoutError):
                        await self.transport.send(kid, {"t": "blocks", "blocks": items}, timeout=10)
                    queued = self._serving.get(kid)
                    if queued is None:
                        return
                    (start, limit), self._serving[kid] = queued, None
            finally:
                self._serving.pop(kid, None)

        self._spawn(serve(start, limit))
        return None

    def _maybe_sync(self) -> None:
        """Ask the highest peer for the next batch, unless one is on its way or `SYNC_AHEAD`
        fetched batches wait to be applied (that bounds the memory a long catch-up takes)."""
        if self.transport is None or self._syncing >= SYNC_AHEAD:
            return
        now = time.monotonic()
        if self._sync_pending is not None:
            if now - self._sync_pending[1] < SYNC_TIMEOUT_S:
                return
            self._sync_pending = None
        start = max(self.chain.height, self._fetched_to) + 1
        ahead = [(h, kid) for kid, h in self.peer_heights.items()
                 if h >= start and kid in self.transport.peers]
        if not ahead:
            return
        _h, kid = max(ahead)
        if self.transport.try_send(kid, {"t": "get_blocks", "from": start, "limit": SYNC_BATCH}):
            self._sync_pending = (kid, now)

    def _on_blocks(self, kid: str, items: Any) -> None:
        if self._sync_pending is None or self._sync_pending[0] != kid or type(items) is not list:
            return
        self._sync_pending = None
        if not items:  # it announced blocks it does not serve: ask it again after its next status
            self.peer_heights.pop(kid, None)
            return
        self._fetched_to = max(self._fetched_to, sync.item_height(items[-1]))
        self._syncing += 1
        self._spawn(self._apply_synced(kid, items))
        self._maybe_sync()  # the next batch travels while this one is checked

    async def _apply_synced(self, kid: str, items: list[Any]) -> None:
        try:
            await self._check_and_apply(kid, items)
        finally:
            self._syncing -= 1
            if self._syncing == 0 and self._sync_pending is None and self._farm is not None:
                self._close_farm()  # caught up (or the peer failed): the process is not kept
        self._maybe_sync()

    async def _check_and_apply(self, kid: str, items: list[Any]) -> None:
        """Check and apply fetched blocks: each block is checked against the state its
        predecessor left (in memory); a farm process verifies signatures of later chunks while
        earlier ones replay; chunks are written in order by one writer thread while the next
        chunk is checked, all written before the lock is released."""
        applied = 0
        loop = asyncio.get_running_loop()
        writes: list[asyncio.Future[None]] = []
        # parsed on the loop: in a worker thread the parse (pure Python) only contends for the
        # GIL with the replay, which measured slower
        parsed, bad = sync.prepare(self.chain, items)
        chunks = [parsed[i:i + SYNC_CHUNK] for i in range(0, len(parsed), SYNC_CHUNK)]
        checks = self._submit_checks(chunks)
        async with self._commit_lock:
            try:
                for chunk, futures in zip(chunks, checks, strict=True):
                    await self._take_verified(futures)
                    entries = []
                    try:
                        for block, commit in chunk:
                            if block.height <= self.chain.height:
                                continue  # consensus committed it meanwhile
                            result = sync.check_parsed(self.chain, block)
                            signers = self.chain.check_commit(block, commit)
                            self.node.apply_decided(block, commit, result, signers)
                            entries.append((block, commit, result, signers))
                    finally:
                        if entries:
                            writes.append(loop.run_in_executor(self._writer, self.chain.persist_many, entries))
                            applied += len(entries)
                    await asyncio.sleep(0)
                if bad is not None:
                    raise bad
            except BlockError as exc:
                log.warning("block from %s rejected: %s %s", kid[:16], exc.code, exc)
                self.peer_heights.pop(kid, None)
                self._sync_pending = None
                self._fetched_to = 0  # batches fetched after this one are refused the same way
            finally:
                for futures in checks:
                    for fut in futures:
                        fut.cancel()
                for w in writes:
                    await w
                self.synced_blocks += applied
                if applied and self.sm.height <= self.chain.height and self._sync_pending is None \
                        and self._syncing <= 1:
                    self._start_next_height()

    def _submit_checks(self, chunks: list[list[tuple[Block, Any]]]) -> list[list[Any]]:
        """Each chunk's signature checks, handed to the worker process (started for a batch
        worth a process); empty lists where there is none: then everything is checked in line."""
        if self._farm is None and sum(map(len, chunks)) >= FARM_MIN_BLOCKS:
            try:
                self._farm = SignatureFarm(default_workers())
            except OSError as exc:
                log.warning("no signature worker process (%s); signatures are checked in line", exc)
        try:
            if self._farm is not None:
                return [self._farm.submit(sync.signature_jobs(self.chain, c)) for c in chunks]
        except RuntimeError as exc:  # a broken pool
            log.warning("signature worker unavailable (%s); checking in line", exc)
            self._close_farm()
        return [[] for _c in chunks]

    async def _take_verified(self, futures: list[Any]) -> None:
        for fut in futures:
            try:
                for h in await asyncio.wrap_future(fut):
                    self.chain.cache.add(h)
            except asyncio.CancelledError:
                if not fut.cancelled() or asyncio.current_task().cancelling():
                    raise
            except Exception as exc:  # a dead worker: its signatures are checked in line
                log.warning("signature worker failed (%s); checking in line", exc)
                self._close_farm()

    def _close_farm(self) -> None:
        if self._farm is not None:
            self._farm.pool.shutdown(wait=False, cancel_futures=True)
            self._farm = None

    # -- lifecycle ------------------------------------------------------------------------

    def _on_connected(self, peer: Peer) -> None:
        peer.try_send({"t": "status", "height": self.chain.height})

    def _on_found(self, ann: Any) -> None:
        if self.transport is not None and ann.key_id != self.keys.key_id and ann.addresses:
            self.transport.add_peer(*ann.addresses[0], ann.key_id)

    def _who(self, kid: str) -> dict[str, Any]:
        p = self.chain.state.tables["participant"].get(kid) or {}
        return {"key_id": kid, "org": p.get("org"), "name": p.get("name")}

    def status(self) -> dict[str, Any]:
        """The node's network part of the control socket's `status` answer (for the GUI)."""
        st = self.sm.status()
        vals = self.chain.state.validators()
        peers = self.transport.peer_infos() if self.transport else []
        return {
            "role": "validator" if self.keys.key_id in vals else "full",
            "p2p_address": list(self.address) if self.address else None,
            "consensus": {**st, "quorum": 2 * len(vals) // 3 + 1},
            "validator_set": [self._who(kid) for kid in vals],
            "peers": [
                {**self._who(p.key_id), "host": p.host, "port": p.port, "outbound": p.outbound,
                 "rtt_us": None if p.rtt_ms is None else round(p.rtt_ms * 1000),
                 "height": self.peer_heights.get(p.key_id)}
                for p in peers
            ],
            "last_votes": self.last_votes,
            "evidence": len(self.evidence),
            "double_signers": sorted({ev.validator for ev in self.evidence}),
            "synced_blocks": self.synced_blocks,
        }

    def stop(self) -> None:
        self._stop.set()

    async def _tick(self) -> None:
        last_status = 0.0
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.1)
            now = time.monotonic()
            self._maybe_start_next()
            if (
                self.sm.height <= self.chain.height
                and self._decided_at is None
                and not self._commit_lock.locked()
                and self._sync_pending is None
                and not self._syncing
            ):  # block sync moved the head and no batch is on its way
                self._start_next_height()
            h, r, since = self._progress
            if (self.sm.height, self.sm.round) != (h, r):
                self._progress = (self.sm.height, self.sm.round, now)
            elif now - since >= self.gossip_s:
                for m in self.sm.gossip_messages():
                    self._send_all({"t": "cons", "m": m.to_wire()})
                self._progress = (h, r, now)
            if now - last_status >= self.status_s:
                last_status = now
                self._send_all({"t": "status", "height": self.chain.height})
                self._maybe_sync()
                if self.discovery is not None:
                    with contextlib.suppress(Exception):
                        await self.discovery.set_height(self.chain.height)

    async def run(self) -> None:
        self.transport = tp.Transport(
            self.keys, self.chain.chain_id, self._authorized,
            on_message=self._on_message, on_peer_connected=self._on_connected,
        )
        try:
            self.address = await self.transport.listen(*self.listen)
            (self.data_dir / "p2p.addr").write_text(f"{self.address[0]}:{self.address[1]}\n")
            log.info("p2p listening on %s:%d as %s (%s)", *self.address, self.keys.key_id[:16],
                     "validator" if self.is_validator() else "full node")
            # Start the first height before anything awaits: a peer may connect as soon as we
            # listen, and block sync must find consensus at the current height, not start it twice.
            self.node.on_admitted.append(self._queue_tx)
            self.node.status_extra = self.status
            self._start_next_height()
            for host, port in self.static_peers:
                self.transport.add_peer(host, port)
            if self.discovery_factory is not None:
                self.discovery = self.discovery_factory(self.address[1], self._on_found)
                await self.discovery.start()
            await self._tick()
            if self._failure is not None:
                raise self._failure
        finally:
            for task in list(self._tasks):
                if task.get_coro().__qualname__.startswith("ConsensusProducer._commit_decided"):
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(task, 30)  # a block being written completes
                task.cancel()
            if self.discovery is not None:
                with contextlib.suppress(Exception):
                    await self.discovery.close()
            await self.transport.close()
            self._writer.shutdown(wait=True)
            self._close_farm()
