"""The block sync reactor: serves `get_blocks`, fetches from the highest peer, checks and applies.

Messages `status`, `get_blocks`, `blocks` (see `sync_schedule`, which holds the bookkeeping,
and `sync_items`, which reads, parses and checks the items). A fetched batch is parsed on the
loop; a `SignatureFarm` worker process (started for a batch of `FARM_MIN_BLOCKS` or more, closed
once caught up) verifies signatures of later chunks while earlier ones replay; each block is
checked against the state its predecessor left (in memory) and the chunks are written in order
by one writer thread while the next chunk is checked, all under the commit lock shared with the
consensus reactor. A block that fails a check makes the peer's height forgotten and bans the
peer (no honest node serves a block that does not verify; a block beyond our head + 1 only
means an earlier batch was refused and is not held against it); an empty answer to a request
for heights the peer announced costs it `MINOR` points. Nothing a peer sends raises out of a
handler or a batch task. After every batch the peers' authorization is checked again (a block
may have revoked a node key). When a batch moved the head and no other is on its way,
`on_head_moved` lets consensus restart at the new height.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ledger_core.chain.block import Block, BlockError
from ledger_core.chain.signature_farm import SignatureFarm, default_workers
from ledger_core.net.peer import Peer
from ledger_core.net.peer_score import FATAL, MINOR
from ledger_core.node import sync_items
from ledger_core.node.router import Handler
from ledger_core.node.runtime import Reactor, Shared
from ledger_core.node.sync_schedule import (
    FetchSchedule,
    ServeQueue,
    parse_request,
    parse_status,
    status_message,
)

log = logging.getLogger("bcmlp.consensus")

SYNC_CHUNK = 50  # blocks checked on the loop between two database writes
FARM_MIN_BLOCKS = 100  # a batch this long starts the signature worker process
SERVE_TIMEOUT_S = 10.0


class BlockSync(Reactor):
    """Block sync for one node (see module docstring)."""

    def __init__(self, shared: Shared, *, on_head_moved: Callable[[], None]) -> None:
        super().__init__(shared)
        self.on_head_moved = on_head_moved
        self.schedule = FetchSchedule()
        self.serving = ServeQueue()
        self.synced_blocks = 0
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sync-writer")
        self._farm: SignatureFarm | None = None

    def routes(self) -> dict[str, Handler]:
        return {
            "status": self.on_status, "get_blocks": self.on_get_blocks, "blocks": self.on_blocks
        }

    @property
    def peer_heights(self) -> dict[str, int]:
        return self.schedule.peer_heights

    @property
    def idle(self) -> bool:
        return self.schedule.idle

    # -- status ---------------------------------------------------------------------------

    def announce(self) -> None:
        """Our head to every peer."""
        self.link.broadcast(status_message(self.chain.height))

    def on_peer_connected(self, peer: Peer) -> None:
        peer.try_send(status_message(self.chain.height))

    def on_status(self, kid: str, msg: dict[str, Any]) -> None:
        h = parse_status(msg)
        if h is not None:
            self.schedule.on_status(kid, h)
            self.maybe_fetch()

    # -- serving --------------------------------------------------------------------------

    def on_get_blocks(self, kid: str, msg: dict[str, Any]) -> None:
        req = parse_request(msg, self.chain.height)
        if req is not None and self.serving.request(kid, *req):
            self.tasks.spawn(self._serve(kid, *req))

    async def _serve(self, kid: str, start: int, limit: int) -> None:
        try:
            while True:
                items = await asyncio.to_thread(
                    sync_items.read_batch, self.chain.store, start, limit
                )
                if not self.link.connected(kid):
                    return
                data = sync_items.blocks_bytes(items)
                with contextlib.suppress(KeyError, ConnectionError, TimeoutError):
                    await self.link.send_raw(kid, data, timeout=SERVE_TIMEOUT_S)
                queued = self.serving.next(kid)
                if queued is None:
                    return
                start, limit = queued
        except ValueError as exc:  # above the frame limit: a block stored before MAX_BLOCK_BYTES
            log.error("cannot serve blocks from %d to %s: %s", start, kid[:16], exc)
        finally:
            self.serving.done(kid)

    # -- fetching -------------------------------------------------------------------------

    def maybe_fetch(self) -> None:
        """Ask the highest peer for the next batch when `FetchSchedule` says so."""
        if not self.link.open:
            return
        now = time.monotonic()
        ask = self.schedule.next_request(now, self.chain.height, self.link.connected_ids())
        if self.schedule.timed_out is not None:
            self.link.penalize(self.schedule.timed_out, "sync_timeout", MINOR, "no blocks in time")
            self.schedule.timed_out = None
        if ask is not None and self.link.try_send(*ask):
            self.schedule.asked(ask[0], now)

    def on_blocks(self, kid: str, msg: dict[str, Any]) -> None:
        items = msg.get("blocks")
        asked = self.schedule.pending is not None and self.schedule.pending[0] == kid
        if self.schedule.on_blocks(kid, items):
            self.tasks.spawn(self._apply_batch(kid, items))
            self.maybe_fetch()  # the next batch travels while this one is checked
        elif asked and items == []:
            self.link.penalize(kid, "announced_unserved", MINOR, "no blocks for a height it announced")

    async def _apply_batch(self, kid: str, items: list[Any]) -> None:
        try:
            await self._check_and_apply(kid, items)
            await self.link.recheck_authorization()
        finally:
            self.schedule.applied()
            if self.schedule.idle and self._farm is not None:
                self._close_farm()  # caught up (or the peer failed): the process is not kept
        self.maybe_fetch()

    async def _check_and_apply(self, kid: str, items: list[Any]) -> None:
        """Check and apply a fetched batch (see module docstring); all its writes are done
        before the commit lock is released."""
        applied = 0
        loop = asyncio.get_running_loop()
        writes: list[asyncio.Future[None]] = []
        # parsed on the loop: in a worker thread the parse (pure Python) only contends for the
        # GIL with the replay, which measured slower
        parsed, bad = sync_items.prepare(self.chain, items)
        chunks = [parsed[i:i + SYNC_CHUNK] for i in range(0, len(parsed), SYNC_CHUNK)]
        checks = self._submit_checks(chunks)
        async with self.commit_lock:
            try:
                for chunk, futures in zip(chunks, checks, strict=True):
                    await self._take_verified(futures)
                    entries = []
                    try:
                        for block, commit in chunk:
                            if block.height <= self.chain.height:
                                continue  # consensus committed it meanwhile
                            result, signers = self._check(block, commit)
                            self.node.apply_decided(block, commit, result, signers)
                            entries.append((block, commit, result, signers))
                    finally:
                        if entries:
                            writes.append(loop.run_in_executor(
                                self._writer, self.chain.persist_many, entries))
                            applied += len(entries)
                    await asyncio.sleep(0)
                if bad is not None:
                    raise bad
            except BlockError as exc:
                log.warning("block from %s rejected: %s %s", kid[:16], exc.code, exc)
                self.schedule.refused(kid)
                if exc.code != "bad_height":
                    self.link.penalize(kid, exc.code, FATAL, str(exc)[:200])
            finally:
                for futures in checks:
                    for fut in futures:
                        fut.cancel()
                for w in writes:
                    await w
                self.synced_blocks += applied
                if applied and self.schedule.pending is None and self.schedule.in_flight <= 1:
                    self.on_head_moved()

    def _check(self, block: Block, commit: Any) -> tuple[Any, dict[str, bytes]]:
        """Replay and commit checks of one fetched block; BlockError for anything wrong with it,
        including an exception a hostile value provokes in the checks."""
        try:
            result = sync_items.check_parsed(self.chain, block)
            return result, self.chain.check_commit(block, commit)
        except BlockError:
            raise
        except Exception as exc:
            log.exception("checking block %d failed", block.height)
            raise BlockError("check_failed", repr(exc)[:200]) from None

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
                return [self._farm.submit(sync_items.signature_jobs(self.chain, c)) for c in chunks]
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

    def close(self) -> None:
        """After the tasks are gone: the writer thread finishes, the worker process ends."""
        self._writer.shutdown(wait=True)
        self._close_farm()
