"""The ledger node: chain (store + state) + mempool + a block producer + the control socket.

Runs on one asyncio loop. The block producer is pluggable: `SingleValidatorProducer` (the dev
chain) builds a block whenever transactions are pending, or an empty heartbeat block after
`heartbeat_s` of quiet; a consensus driver replaces it by calling `candidates`, `chain.propose`,
`chain.check_block` and `apply_decided` in the same way. Database writes run in a worker
thread so the socket keeps admitting transactions while a block commits.

Control socket `<data-dir>/node.sock`: owner-only unix socket, length-prefixed canonical JSON
requests {"op": ...}; see `Node.handle` for the operations.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any, Protocol

from ledger_core.chain.block import Block, sign_commit
from ledger_core.chain.replica import Chain
from ledger_core.chain.state import BlockResult
from ledger_core.chain.tx import Tx, TxError, from_obj
from ledger_core.crypto.signing import Signer
from ledger_core.node.control_wire import FrameError, encode_frame, read_frame
from ledger_core.node.mempool import Mempool

log = logging.getLogger("bcmlp.node")
HEARTBEAT_S = 5.0
MAX_BATCH = 10_000


class NodeError(Exception):
    """The node cannot start (socket in use, data directory locked, not a validator)."""


class BlockProducer(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class SingleValidatorProducer:
    """The dev chain's producer: this node is the only validator and signs every commit."""

    def __init__(self, node: Node, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.node = node
        self.heartbeat_s = heartbeat_s
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True
        self.node.wake.set()

    async def run(self) -> None:
        node = self.node
        last = time.monotonic()
        while not self._stopping:
            node.wake.clear()
            if not len(node.mempool):
                remaining = self.heartbeat_s - (time.monotonic() - last)
                if remaining > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(node.wake.wait(), remaining)
                    continue
            await self.produce_one()
            last = time.monotonic()

    async def produce_one(self) -> None:
        node = self.node
        chain = node.chain
        candidates = node.candidates()

        def build() -> tuple[Block, dict[str, Any], BlockResult, dict[str, bytes]]:
            block, result = chain.propose(candidates, node.signer.key_id, now_ms())
            commit = sign_commit([node.signer], chain.chain_id, block.height, 0, block.id)
            return block, commit, result, chain.persist(block, commit, result)

        block, commit, result, signers = await asyncio.to_thread(build)
        node.apply_decided(block, commit, result, signers)


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
            self._resolve(tx.hash, {"ok": True, "hash": tx.hash, "height": block.height, "index": i})
        for tx, exc in result.rejected:
            self._resolve(tx.hash, {"ok": False, "hash": tx.hash, **exc.as_dict()})
        if result.accepted or result.rejected:
            log.debug("block %d: %d txs, %d dropped", block.height, len(result.accepted), len(result.rejected))

    def _resolve(self, tx_hash: str, answer: dict[str, Any]) -> None:
        for fut in self.waiters.pop(tx_hash, ()):
            if not fut.done():
                fut.set_result(answer)

    # -- admission ------------------------------------------------------------------------

    def admit(self, env: Any) -> tuple[dict[str, Any], str | None]:
        try:
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

    async def _submit_many(self, envs: list[Any], wait: bool) -> list[dict[str, Any]]:
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
        op = req.get("op")
        store = self.chain.store
        try:
            if op == "status":
                return self.status()
            if op == "submit":
                (ans,) = await self._submit_many([req.get("tx")], bool(req.get("wait")))
                return ans
            if op == "submit_batch":
                txs = req.get("txs")
                if type(txs) is not list or len(txs) > MAX_BATCH:
                    return _bad(f"txs must be a list of at most {MAX_BATCH} transactions")
                return {"ok": True, "results": await self._submit_many(txs, bool(req.get("wait")))}
            if op == "nonce":
                kid = _str(req, "key_id")
                committed = self.chain.state.nonce(kid)
                pending = self.mempool.pending_nonce(kid)
                return {"ok": True, "nonce": committed, "pending": pending,
                        "next": max(committed, pending or 0) + 1}
            if op == "block":
                if "height" in req:
                    b = await asyncio.to_thread(store.block, _int(req, "height"))
                else:
                    b = await asyncio.to_thread(store.block_by_id, _str(req, "id"))
                return {"ok": True, "block": b}
            if op == "blocks":
                before, after = req.get("before"), req.get("after")
                for v in (before, after):
                    if v is not None and type(v) is not int:
                        return _bad("before/after must be heights")
                rows = await asyncio.to_thread(store.blocks_page, before, after, _int(req, "limit", 100))
                return {"ok": True, "blocks": rows}
            if op == "tx":
                return {"ok": True, "tx": await asyncio.to_thread(store.tx, _str(req, "hash"))}
            if op == "participant":
                return {"ok": True, "participant": self.chain.state.tables["participant"].get(_str(req, "key_id"))}
            if op == "search":
                return {"ok": True, "result": await asyncio.to_thread(store.search, _str(req, "term"))}
        except ValueError as exc:
            return _bad(str(exc))
        return _bad(f"unknown op {op!r}")

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while not self.stop_event.is_set():
                req = await read_frame(reader)
                if req is None:
                    break
                writer.write(encode_frame(await self.handle(req)))
                await writer.drain()
        except FrameError as exc:
            with contextlib.suppress(Exception):
                writer.write(encode_frame({"ok": False, "code": "bad_frame", "message": str(exc)}))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    # -- lifecycle ------------------------------------------------------------------------

    def _take_lock(self) -> None:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise NodeError(f"another node is running on this data directory ({self.lock_path})") from None
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    async def _serve(self) -> asyncio.AbstractServer:
        path = self.socket_path
        if path.exists() or path.is_symlink():
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(str(path))
            except OSError:
                path.unlink()  # stale socket from a crashed node (we hold the lock)
            else:
                raise NodeError(f"a node already serves {path}")
            finally:
                probe.close()
        old = os.umask(0o177)
        try:
            server = await asyncio.start_unix_server(self._client, path=str(path), limit=2**20)
        except OSError as exc:  # e.g. a path longer than the ~107 bytes a unix socket allows
            raise NodeError(f"cannot listen on {path}: {exc.strerror or exc}") from None
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        return server

    def request_stop(self) -> None:
        self.stop_event.set()

    async def run(self, producer: BlockProducer | None = None, handle_signals: bool = True) -> None:
        """Serve until SIGTERM/SIGINT or request_stop(); the block in progress completes first."""
        self._take_lock()
        loop = asyncio.get_running_loop()
        try:
            server = await self._serve()
        except BaseException:
            self._release_lock()
            raise
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
        producer = producer or SingleValidatorProducer(self, self.heartbeat_s)
        task = asyncio.create_task(producer.run())
        log.info("node ready: chain %s height %d, socket %s", self.chain.chain_id[:16], self.chain.height, self.socket_path)
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
            for futs in self.waiters.values():
                for f in futs:
                    if not f.done():
                        f.set_result({"ok": False, "code": "node_stopping", "message": "the node is stopping"})
            self.waiters.clear()
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
            if handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            self._release_lock()
            log.info("node stopped at height %d", self.chain.height)


def _bad(msg: str) -> dict[str, Any]:
    return {"ok": False, "code": "bad_request", "message": msg}


def _str(req: dict[str, Any], key: str) -> str:
    v = req.get(key)
    if type(v) is not str or len(v) > 200:
        raise ValueError(f"{key} must be a string")
    return v


def _int(req: dict[str, Any], key: str, default: int | None = None) -> int:
    v = req.get(key, default)
    if type(v) is not int:
        raise ValueError(f"{key} must be an integer")
    return v
