"""The ledger node: chain (store + state) + mempool + a block producer + the control socket.

Runs on one asyncio loop. The block producer is pluggable: `SingleValidatorProducer` (the dev
chain, `single_validator.py`) or the consortium's `ConsensusProducer` (`network_producer.py`);
both call `candidates`, `chain.propose`/`chain.check_block`, persist, then `apply_decided`.
Database writes run in worker threads so the control socket keeps admitting transactions while
a block commits.

The control socket `<data-dir>/node.sock` (`control_socket.ControlServer`) answers requests
with `control_requests.answer`; `<data-dir>/node.lock` (flock) keeps a second node off the data
directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any, Protocol

from ledger_core.chain.block import Block
from ledger_core.chain.replica import Chain
from ledger_core.chain.state import BlockResult
from ledger_core.chain.tx import Tx, TxError, from_obj
from ledger_core.crypto.signing import Signer
from ledger_core.node import control_requests
from ledger_core.node.clock import now_ms
from ledger_core.node.control_socket import ControlServer
from ledger_core.node.errors import NodeError
from ledger_core.node.mempool import Mempool, quota_error
from ledger_core.node.single_validator import SingleValidatorProducer

__all__ = ["HEARTBEAT_S", "BlockProducer", "Node", "NodeError", "now_ms"]

log = logging.getLogger("bcmlp.node")
HEARTBEAT_S = 5.0


class BlockProducer(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


def _claimed_sender(env: Any) -> str | None:
    """The sender an envelope names, unchecked (None when it names none)."""
    body = env.get("body") if type(env) is dict else None
    sender = body.get("sender") if type(body) is dict else None
    return sender if type(sender) is str else None


class Node:
    def __init__(
        self,
        chain: Chain,
        signer: Signer,
        socket_path: Path,
        lock_path: Path | None = None,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.chain = chain
        self.signer = signer
        self.socket_path = Path(socket_path)
        self.lock_path = Path(lock_path) if lock_path else self.socket_path.with_suffix(".lock")
        self.heartbeat_s = heartbeat_s
        self.mempool = Mempool()
        self.waiters: dict[str, list[asyncio.Future[dict[str, Any]]]] = {}
        self.wake = asyncio.Event()
        self.stop_event = asyncio.Event()
        self.started = time.time()
        self.committed_txs = 0
        self._lock_fd: int | None = None
        # Set by a networked producer: called with each newly admitted tx (gossip), and a
        # function adding its part ("network", "consensus") to the status answer.
        self.on_admitted: list[Any] = []
        self.status_extra: Any = None

    # -- used by block producers ------------------------------------------------------------

    def candidates(self) -> list[Tx]:
        return self.mempool.take(self.chain.state.param("max_block_txs"))

    def apply_decided(
        self, block: Block, commit: dict[str, Any], result: BlockResult, signers: dict[str, bytes]
    ) -> None:
        """After the block is persisted: advance the state, clear the mempool, answer waiters."""
        self.chain.advance(block, commit, result, signers)
        self.mempool.remove(result.accepted)
        self.mempool.remove(tx for tx, _e in result.rejected)
        self.committed_txs += len(result.accepted)
        for i, tx in enumerate(result.accepted):
            self._resolve(
                tx.hash, {"ok": True, "hash": tx.hash, "height": block.height, "index": i}
            )
        for tx, exc in result.rejected:
            self._resolve(tx.hash, {"ok": False, "hash": tx.hash, **exc.as_dict()})
        if result.accepted or result.rejected:
            log.debug("block %d: %d txs, %d dropped",
                      block.height, len(result.accepted), len(result.rejected))

    def _resolve(self, tx_hash: str, answer: dict[str, Any]) -> None:
        for fut in self.waiters.pop(tx_hash, ()):
            if not fut.done():
                fut.set_result(answer)

    # -- admission ------------------------------------------------------------------------

    def admit(self, env: Any) -> tuple[dict[str, Any], str | None]:
        try:
            sender = _claimed_sender(env)
            if sender is not None and self.mempool.sender_full(sender):
                # refused before the parse and the signature check: a flood costs little
                raise quota_error(self.mempool.pending_count(sender), self.mempool.pending_bytes(sender))
            tx = from_obj(env, max_bytes=self.chain.state.param("max_tx_bytes"), checked=True)
            self.mempool.precheck(tx)
            self.chain.admit(tx, self.mempool.pending_nonce(tx.sender))
        except TxError as exc:
            return {"ok": False, **exc.as_dict()}, None
        self.mempool.add(tx)
        self.wake.set()
        for fn in self.on_admitted:
            fn(tx)
        return {"ok": True, "hash": tx.hash}, tx.hash

    def _waiter(self, tx_hash: str) -> asyncio.Future[dict[str, Any]]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(tx_hash, []).append(fut)
        return fut

    async def submit_many(self, envs: list[Any], wait: bool) -> list[dict[str, Any]]:
        """Admit each envelope; with `wait`, each answer is the committed (or dropped) result."""
        answers: list[Any] = []
        for env in envs:
            ans, h = self.admit(env)
            answers.append(self._waiter(h) if (wait and h) else ans)
        if wait:
            answers = [await a if isinstance(a, asyncio.Future) else a for a in answers]
        return answers

    # -- requests -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        st = self.chain.state
        return {
            "ok": True,
            "chain_id": st.chain_id,
            "height": st.height,
            "app_hash": st.app_hash,
            "last_block_id": st.last_block_id,
            "last_time": st.last_time,
            "mempool": len(self.mempool),
            "validators": sorted(st.validators()),
            "node_key": self.signer.key_id,
            "committed_txs": self.committed_txs,
            "uptime_s": int(time.time() - self.started),
            **(self.status_extra() if self.status_extra else {}),
        }

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        """One control request answered (see `control_requests`)."""
        return await control_requests.answer(self, req)

    # -- lifecycle ------------------------------------------------------------------------

    def _take_lock(self) -> None:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise NodeError(
                f"another node is running on this data directory ({self.lock_path})"
            ) from None
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def request_stop(self) -> None:
        self.stop_event.set()

    async def run(self, producer: BlockProducer | None = None, handle_signals: bool = True) -> None:
        """Serve until SIGTERM/SIGINT or request_stop(); the block in progress completes first."""
        self._take_lock()
        loop = asyncio.get_running_loop()
        server = ControlServer(self.socket_path, self.handle, self.stop_event)
        try:
            await server.start()
        except BaseException:
            self._release_lock()
            raise
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
        producer = producer or SingleValidatorProducer(self, self.heartbeat_s)
        task = asyncio.create_task(producer.run())
        log.info("node ready: chain %s height %d, socket %s",
                 self.chain.chain_id[:16], self.chain.height, self.socket_path)
        try:
            stop = asyncio.create_task(self.stop_event.wait())
            done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()  # a failed producer stops the node with its error
        finally:
            producer.stop()
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 30)
            self._fail_waiters()
            server.remove()
            if handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            self._release_lock()
            log.info("node stopped at height %d", self.chain.height)

    def _fail_waiters(self) -> None:
        stopping = {"ok": False, "code": "node_stopping", "message": "the node is stopping"}
        for futs in self.waiters.values():
            for f in futs:
                if not f.done():
                    f.set_result(dict(stopping))
        self.waiters.clear()
