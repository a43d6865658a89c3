"""The hostile node: a real `ConsensusProducer` (same key, same reactors, same transport) with
the points where a `Scenario` makes it misbehave.

* `Scenario.routes`: peer message types the scenario answers itself (before the reactors);
* `Scenario.outgoing(msg)`: every message the reactors broadcast or queue as an object passes
  through it (rewritten, or None: the scenario sends something else itself);
* `Scenario.propose(height)`: the value this validator proposes (None: the honest block);
* `Scenario.on_connected(peer, honest)`: a new authenticated connection;
* `Scenario.run()`: a side task for the whole run (floods, raw sockets).

`producer_class(scenario)` gives the `ConsensusProducer` subclass that `app.commands.node_cmd`
builds when `python -m app.hostile` runs it, so the hostile node starts exactly as `bcmlp node`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any

from ledger_core.consensus import Value
from ledger_core.net.peer import Peer
from ledger_core.node.network_producer import ConsensusProducer
from ledger_core.node.router import Handler

log = logging.getLogger("bcmlp.hostile")


class Scenario:
    """One way to misbehave (see module docstring); the default is an honest node."""

    name = "honest"
    by_key = True  # the honest nodes can tell the culprit by its node key (bench: bans)

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.p: ConsensusProducer = None  # type: ignore[assignment]  # set by `attach`

    def attach(self, producer: ConsensusProducer) -> None:
        self.p = producer

    def routes(self) -> dict[str, Handler]:
        return {}

    def outgoing(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        return msg

    def propose(self, height: int) -> Value | None:
        return None

    def on_connected(self, peer: Peer, honest: Callable[[Peer], Any]) -> Any:
        return honest(peer)

    async def run(self) -> None:
        await asyncio.Event().wait()

    # -- helpers for scenarios ------------------------------------------------------------

    def peers(self) -> list[str]:
        return sorted(self.p.link.connected_ids())

    def send(self, kid: str, msg: dict[str, Any]) -> bool:
        """Queue `msg` for one peer, past `outgoing`; False when it could not be queued."""
        try:
            return self.p.link.transport is not None and self.p.link.transport.try_send(kid, msg)
        except ValueError as exc:  # above the frame limit
            log.warning("not sent: %s", exc)
            return False


class HookedRouter:
    """The producer's router with some types answered by the scenario first."""

    def __init__(self, inner: Any, overrides: dict[str, Handler]) -> None:
        self.inner = inner
        self.overrides = overrides

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self.inner.types | self.overrides.keys())

    def dispatch(self, kid: str, msg: Any) -> None:
        handler = self.overrides.get(msg.get("t")) if type(msg) is dict else None
        if handler is None:
            self.inner.dispatch(kid, msg)
            return
        try:
            handler(kid, msg)
        except Exception:
            log.exception("scenario handler failed")


def _hook_link(producer: ConsensusProducer, scenario: Scenario) -> None:
    link = producer.link
    # the node's other sends (served blocks) go through `send_raw` as encoded bytes; the
    # scenarios that answer block requests do so in their own handlers
    broadcast, try_send = link.broadcast, link.try_send

    def hooked_broadcast(msg: dict[str, Any], exclude: tuple[str, ...] = ()) -> None:
        out = scenario.outgoing(msg)
        if out is not None:
            broadcast(out, exclude)

    def hooked_try_send(kid: str, msg: dict[str, Any]) -> bool:
        out = scenario.outgoing(msg)
        return out is None or try_send(kid, out)

    link.broadcast = hooked_broadcast  # type: ignore[method-assign]
    link.try_send = hooked_try_send  # type: ignore[method-assign]


def producer_class(scenario: Scenario) -> type[ConsensusProducer]:
    """The `ConsensusProducer` subclass that misbehaves as `scenario` says."""

    class HostileProducer(ConsensusProducer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            scenario.attach(self)
            self.router = HookedRouter(self.router, scenario.routes())  # type: ignore[assignment]
            _hook_link(self, scenario)
            honest_value = self.consensus.sm.get_value
            self.consensus.sm.get_value = lambda h: scenario.propose(h) or honest_value(h)
            honest_connected = self.sync.on_peer_connected
            self.sync.on_peer_connected = (  # type: ignore[method-assign]
                lambda peer: scenario.on_connected(peer, honest_connected))
            log.warning("hostile node %s runs scenario %s", self.keys.key_id[:16], scenario.name)

        async def run(self) -> None:
            side = asyncio.create_task(self._side())
            try:
                await super().run()
            finally:
                side.cancel()
                with contextlib.suppress(BaseException):
                    await side

        async def _side(self) -> None:
            while self.link.transport is None:
                await asyncio.sleep(0.05)
            try:
                await scenario.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scenario %s failed", scenario.name)

    return HostileProducer
