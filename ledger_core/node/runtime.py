"""What the reactors of a networked node share at run time, handed to each explicitly.

* `PeerLink`: the peer network as a reactor sees it. `transport` is None until the producer
  opens the `Transport` (tests put a fake there); until then sends go nowhere.
* `TaskGroup`: the reactors' background tasks and the node's stop signal. The first task that
  fails records its error and stops the node; `close` lets the tasks marked `finish` (a
  block being written) complete and cancels the others.
* `Shared`: those two with the node (chain + mempool) and the commit lock (consensus and block
  sync never apply blocks at once); `Reactor`, the base of the reactors, takes it apart into
  attributes and declares the message types it owns (`routes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from ledger_core.net import transport as tp
from ledger_core.node.ledger_node import Node
from ledger_core.node.router import Handler

log = logging.getLogger("bcmlp.consensus")
FINISH_TIMEOUT_S = 30.0


class PeerLink:
    """Sends to peers through the Transport once there is one (see module docstring)."""

    def __init__(self) -> None:
        self.transport: tp.Transport | None = None

    @property
    def open(self) -> bool:
        return self.transport is not None

    def connected(self, kid: str) -> bool:
        return self.transport is not None and kid in self.transport.peers

    def connected_ids(self) -> Iterable[str]:
        return self.transport.peers if self.transport is not None else ()

    def broadcast(self, msg: dict[str, Any], exclude: tuple[str, ...] = ()) -> None:
        """To every connected peer but `exclude`; never raises for the message's size."""
        if self.transport is not None:
            try:
                self.transport.broadcast(msg, exclude)
            except ValueError as exc:  # above the frame limit: cannot happen for our own sizes
                log.error("message not sent: %s", exc)

    def try_send(self, kid: str, msg: dict[str, Any]) -> bool:
        return self.transport is not None and self.transport.try_send(kid, msg)

    def penalize(self, kid: str, reason: str, points: int, detail: str = "") -> None:
        """Score a peer's misbehaviour (the Transport bans it past the threshold)."""
        if self.transport is not None:
            self.transport.penalize(kid, reason, points, detail)

    async def send_raw(self, kid: str, data: bytes, timeout: float | None = None) -> None:
        """A message already encoded as canonical JSON, waiting for room in the peer's queue;
        KeyError when the peer is not connected."""
        if self.transport is None:
            raise KeyError(f"no connection to node {kid[:16]}")
        await self.transport.send_raw(kid, data, timeout=timeout)

    async def recheck_authorization(self) -> None:
        """Drop sessions, and stop dialling, of keys that are no longer active nodes (after every
        applied block: a participant write may have revoked one)."""
        if self.transport is not None:
            for kid in await self.transport.recheck_authorization():
                self.transport.remove_peers_of(kid)


class TaskGroup:
    """Background tasks and the stop signal (see module docstring)."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.failure: BaseException | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._finish: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def stop(self) -> None:
        self.stopping.set()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, finish: bool = False) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        if finish:
            self._finish.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._finish.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("consensus task failed", exc_info=task.exception())
            self.failure = task.exception()
            self.stopping.set()

    async def close(self) -> None:
        for task in list(self._tasks):
            if task in self._finish:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, FINISH_TIMEOUT_S)
            task.cancel()


@dataclass(frozen=True)
class Shared:
    """What every reactor of one node is given (see module docstring)."""

    node: Node
    link: PeerLink
    tasks: TaskGroup
    commit_lock: asyncio.Lock


class Reactor:
    """Base of the reactors: the shared things as attributes, and the message types it owns."""

    def __init__(self, shared: Shared) -> None:
        self.node = shared.node
        self.chain = shared.node.chain
        self.link = shared.link
        self.tasks = shared.tasks
        self.commit_lock = shared.commit_lock

    def routes(self) -> dict[str, Handler]:
        """Message type -> handler, for the router; none by default."""
        return {}
