"""asyncio TCP transport: listen, dial (with reconnect), keep one connection per peer key.

Interface for the node (everything runs on the node's asyncio loop and is not thread-safe: a GUI
thread goes through ``loop.call_soon_threadsafe`` / ``run_coroutine_threadsafe``):
- ``Transport(keys, chain_id, is_authorized, *, on_message, on_peer_connected=None,
  on_peer_disconnected=None, config=PeerConfig(), backoff_base=0.5, backoff_cap=30.0,
  rng=None, max_connections=64, handshakes_per_s=50.0)``.
  ``on_message(key_id, message)`` gets each decoded canonical-JSON message with the
  authenticated sender's node key id (plain function, or returning an awaitable that is awaited:
  back-pressure on that peer). ``on_peer_connected(peer)`` / ``on_peer_disconnected(key_id,
  reason)`` report changes (a replaced duplicate connection may report connected twice;
  ``peer.info()`` gives a GUI snapshot). ``is_authorized(key_id)`` is asked on every handshake;
  call ``recheck_authorization()`` after a validator-set or membership change to drop peers
  whose keys were revoked. Inbound connections beyond ``max_connections`` (all peers plus
  handshakes in flight) or beyond ``handshakes_per_s`` (burst: twice that) are refused at once,
  before any key exchange work.
- ``await listen(host, port) -> (host, port)``: start the server (port 0 picks a free port).
- ``add_peer(host, port, key_id=None)``: keep a connection to this address, redialling with
  exponential back-off and jitter whenever it drops (static ``--peer`` entries, discovered
  peers); ``remove_peer(host, port)`` stops that.
- ``await connect(host, port, expected_key_id=None) -> Peer``: one dial, no retry.
- ``peers`` (``dict[key_id, Peer]``: the live, authenticated connections), ``peer_infos()``.
- ``broadcast(message, exclude=()) -> int``: encodes once, queues on every peer without waiting
  (a peer whose queue is full drops it and counts the drop); returns how many peers took it.
- ``try_send(key_id, message) -> bool`` (drop policy) and ``await send(key_id, message,
  timeout=None)`` (waits for queue room; ``KeyError`` if not connected). Every send raises
  ``ValueError`` for a message above ``config.max_message`` bytes and ``EncodingError`` for one
  that is not canonical-JSON material.
- ``disconnect(key_id, reason)``; ``await close()`` stops the server, the dial loops and every
  peer.

When two nodes dial each other at once, both keep the connection opened by the node with the
smaller key id, so each pair ends with exactly one connection. A failing connection never
affects the others; the server keeps accepting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from bedrock.canonical import canonical
from ledger_core.crypto.keys import KeyPair
from ledger_core.net.backoff import Backoff
from ledger_core.net.callbacks import call_safely
from ledger_core.net.channel import SecureChannel
from ledger_core.net.errors import ProtocolError
from ledger_core.net.handshake import IsAuthorized
from ledger_core.net.peer import Peer, PeerConfig, PeerInfo, PeerRefused, open_peer
from ledger_core.net.ratelimit import TokenBucket

log = logging.getLogger("ledger_core.net")


class Transport:
    """Server, dialer and peer table of one node (see the module docstring)."""

    def __init__(
        self,
        keys: KeyPair,
        chain_id: str,
        is_authorized: IsAuthorized,
        *,
        on_message: Callable[[str, Any], Any],
        on_peer_connected: Callable[[Peer], Any] | None = None,
        on_peer_disconnected: Callable[[str, str], Any] | None = None,
        config: PeerConfig | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        rng: random.Random | None = None,
        max_connections: int = 64,
        handshakes_per_s: float = 50.0,
    ) -> None:
        self.keys = keys
        self.chain_id = chain_id
        self.is_authorized = is_authorized
        self.config = config or PeerConfig()
        self._on_message = on_message
        self._on_connected = on_peer_connected
        self._on_disconnected = on_peer_disconnected
        self._backoff = (backoff_base, backoff_cap)
        self._rng = rng or random.Random()
        self.max_connections = max_connections
        self._accepts = TokenBucket(handshakes_per_s, 2 * handshakes_per_s, time.monotonic())
        self.peers: dict[str, Peer] = {}
        self._server: asyncio.Server | None = None
        self._dialers: dict[tuple[str, int], asyncio.Task[None]] = {}
        self._handshaking: set[asyncio.Task[Any]] = set()
        self._all_peers: set[Peer] = set()
        self._closing = False

    # -- server and dialling --------------------------------------------------------------------

    async def listen(self, host: str, port: int) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._on_inbound, host, port)
        sock = self._server.sockets[0].getsockname()
        return str(sock[0]), int(sock[1])

    def _connection_count(self) -> int:
        return len(self._all_peers) + len(self._handshaking)

    def _channel(self, role: str, expected_key_id: str | None) -> SecureChannel:
        return SecureChannel(
            role,
            self.keys,
            self.chain_id,
            self.is_authorized,
            expected_key_id=expected_key_id,
            max_frame=self.config.max_frame,
        )

    async def _on_inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        addr = writer.get_extra_info("peername")
        if self._closing or self._connection_count() >= self.max_connections:
            log.warning("refusing connection from %s: connection limit reached", addr)
            writer.close()
            return
        if not self._accepts.allow(time.monotonic()):
            log.warning("refusing connection from %s: too many handshakes", addr)
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._handshaking.add(task)
        try:
            peer = await self._open(reader, writer, "responder", None, outbound=False)
        except (ProtocolError, TimeoutError, ConnectionError, OSError) as exc:
            log.warning("inbound handshake from %s failed: %s", addr, _reason(exc))
            return
        except asyncio.CancelledError:
            # close() cancels handshakes in flight; this task is the server's top level (asyncio
            # would log a cancelled connection callback as an error), so end quietly.
            return
        finally:
            self._handshaking.discard(task)
        await self._register(peer)

    async def _open(self, reader, writer, role, expected, *, outbound: bool) -> Peer:
        return await open_peer(
            reader,
            writer,
            self._channel(role, expected),
            self.config,
            self._deliver,
            self._peer_closed,
            outbound=outbound,
        )

    async def connect(self, host: str, port: int, expected_key_id: str | None = None) -> Peer:
        """Dial once; returns the peer (which may already be closed as a duplicate)."""
        if self._closing:
            raise ConnectionError("the transport is closed")
        async with asyncio.timeout(self.config.handshake_timeout):
            reader, writer = await asyncio.open_connection(host, port)
        peer = await self._open(reader, writer, "initiator", expected_key_id, outbound=True)
        await self._register(peer)
        return peer

    def add_peer(self, host: str, port: int, key_id: str | None = None) -> None:
        addr = (host, port)
        if addr in self._dialers or self._closing:
            return
        self._dialers[addr] = asyncio.create_task(
            self._dial_loop(host, port, key_id), name=f"dial-{host}:{port}"
        )

    def remove_peer(self, host: str, port: int) -> None:
        task = self._dialers.pop((host, port), None)
        if task is not None:
            task.cancel()

    async def _dial_loop(self, host: str, port: int, key_id: str | None) -> None:
        backoff = Backoff(*self._backoff, rng=self._rng)
        known = key_id
        while not self._closing:
            existing = self.peers.get(known) if known else None
            if existing is not None:
                await existing.wait_closed()
                continue
            try:
                peer = await self.connect(host, port, key_id)
            except asyncio.CancelledError:
                raise
            except PeerRefused as exc:
                known = exc.key_id
                if known in self.peers:
                    continue  # a duplicate: wait on the connection we already have
                delay = backoff.next_delay()
                log.info("%s; retry in %.2f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            except (ProtocolError, TimeoutError, ConnectionError, OSError) as exc:
                delay = backoff.next_delay()
                log.info("dial %s:%d failed (%s); retry in %.2f s", host, port, _reason(exc), delay)
                await asyncio.sleep(delay)
                continue
            known = peer.key_id
            backoff.reset()
            await peer.wait_closed()
            if peer.close_reason == "duplicate" and known in self.peers:
                continue
            await asyncio.sleep(backoff.next_delay())

    # -- peer table -----------------------------------------------------------------------------

    def _preferred(self, peer: Peer) -> bool:
        """True when ``peer`` was opened by the node with the smaller key id."""
        initiator = self.keys.key_id if peer.outbound else peer.key_id
        return initiator == min(self.keys.key_id, peer.key_id)

    async def _register(self, peer: Peer) -> None:
        if peer.closed:
            return
        if self._closing:
            await peer.close("shutdown")
            return
        self._all_peers.add(peer)
        existing = self.peers.get(peer.key_id)
        if existing is not None and not existing.closed:
            if self._preferred(peer) and not self._preferred(existing):
                self.peers[peer.key_id] = peer
                await existing.close("duplicate")
            else:
                await peer.close("duplicate")
                return
        else:
            self.peers[peer.key_id] = peer
        peer.start()
        log.info(
            "peer %s connected (%s %s:%d)",
            peer.key_id[:16],
            "outbound" if peer.outbound else "inbound",
            *peer.address,
        )
        await call_safely(log, self._on_connected, peer)

    async def _peer_closed(self, peer: Peer, reason: str) -> None:
        self._all_peers.discard(peer)
        if self.peers.get(peer.key_id) is peer:
            del self.peers[peer.key_id]
            await call_safely(log, self._on_disconnected, peer.key_id, reason)

    async def _deliver(self, peer: Peer, message: Any) -> None:
        await call_safely(log, self._on_message, peer.key_id, message)

    def peer_infos(self) -> list[PeerInfo]:
        return [p.info() for p in self.peers.values()]

    # -- sending --------------------------------------------------------------------------------

    def broadcast(self, message: Any, exclude: Iterable[str] = ()) -> int:
        data = canonical(message)
        skip = set(exclude)
        return sum(
            1 for kid, p in list(self.peers.items()) if kid not in skip and p.try_send_raw(data)
        )

    def try_send(self, key_id: str, message: Any) -> bool:
        peer = self.peers.get(key_id)
        return peer is not None and peer.try_send(message)

    async def send(self, key_id: str, message: Any, timeout: float | None = None) -> None:
        peer = self.peers.get(key_id)
        if peer is None:
            raise KeyError(f"no connection to node {key_id[:16]}")
        await peer.send(message, timeout)

    async def disconnect(self, key_id: str, reason: str = "closed") -> None:
        peer = self.peers.get(key_id)
        if peer is not None:
            await peer.close(reason)

    async def recheck_authorization(self) -> list[str]:
        """Close peers whose keys ``is_authorized`` now refuses; returns their key ids."""
        revoked = [kid for kid in list(self.peers) if not self.is_authorized(kid)]
        for kid in revoked:
            await self.disconnect(kid, "unauthorized")
        return revoked

    async def close(self) -> None:
        self._closing = True
        if self._server is not None:
            self._server.close()
        tasks = list(self._dialers.values()) + list(self._handshaking)
        self._dialers.clear()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(
            *(p.close("shutdown") for p in list(self._all_peers)), return_exceptions=True
        )
        if self._server is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self._server.wait_closed()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ProtocolError):
        return exc.code
    if isinstance(exc, TimeoutError):
        return "handshake_timeout"
    return f"{exc.__class__.__name__}: {exc}"
