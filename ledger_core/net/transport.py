"""asyncio TCP transport: listen, dial (with reconnect), keep one connection per peer key, ban.

Interface for the node (everything runs on the node's asyncio loop and is not thread-safe: a GUI
thread goes through ``loop.call_soon_threadsafe`` / ``run_coroutine_threadsafe``):
- ``Transport(keys, chain_id, is_authorized, *, on_message, on_peer_connected=None,
  on_peer_disconnected=None, config=PeerConfig(), backoff_base=0.5, backoff_cap=30.0,
  rng=None, max_connections=64, handshakes_per_s=50.0, max_pending=16,
  max_pending_per_address=4, reserved_pending=8, max_discovered_dialers=32, ban_book=None)``.
  ``on_message(key_id, message)`` gets each decoded canonical-JSON message with the
  authenticated sender's node key id (plain function, or returning an awaitable that is awaited:
  back-pressure on that peer; an exception is logged with the peer's key id and the connection
  kept: the handler decides what to ``penalize``). ``on_peer_connected(peer)`` /
  ``on_peer_disconnected(key_id, reason)`` report changes (a replaced duplicate connection may
  report connected twice; ``peer.info()`` gives a GUI snapshot). ``is_authorized(key_id)`` (the
  membership check) is asked on every handshake; call ``recheck_authorization()`` after a
  validator-set or membership change to drop peers whose keys were revoked.
- ``await listen(host, port) -> (host, port)``: start the server (port 0 picks a free port).
- ``add_peer(host, port, key_id=None, *, discovered=False) -> bool``: keep a connection to this
  address, redialling with exponential back-off and jitter whenever it drops; True when a new
  dial loop started. Static ``--peer`` entries are never capped. ``discovered=True`` marks an
  unauthenticated (mDNS) entry: ignored when its key id is ours or not authorized; at most two
  per key id (a newer one replaces the oldest) and ``max_discovered_dialers`` in all (beyond
  that a new one is ignored and logged). ``remove_peer(host, port)`` stops one address;
  ``remove_peers_of(key_id) -> int`` stops every dial loop added with that key id (when the key
  is no longer an active node or its mDNS service went away; static entries have no key id).
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

Misbehaviour (``peer_score``): ``penalize(key_id, reason, points, detail="") -> bool`` adds
``MINOR``/``SERIOUS``/``FATAL`` points to an authenticated key (synchronous, for message
handlers on the loop; logs a warning, never raises); True when the key is banned, and then every
connection of that key is closed (``banned: <reason>``). ``is_banned(key_id)`` and ``bans() ->
list[BanInfo]`` (bans in force) are for the node's status. A banned key is refused at the
handshake as if not authorized (``Banned``: a ``HandshakeError`` with code ``banned`` and the
``key_id``; ``connect`` to a banned ``expected_key_id`` raises it before dialling), and dial
loops towards it wait until the ban ends. The transport itself penalizes a peer closed for a
protocol violation: ``rate_limited``, ``bad_message*``, ``unknown_type``, ``oversized`` and
``decrypt_failed`` are ``FATAL``, ``control_overflow`` ``SERIOUS``, ``write_timeout``
``MINOR``; ``idle_timeout``, EOF, socket errors, duplicates and shutdown cost nothing
(``close_penalty(reason) -> int``).

Admission, before any key exchange work (a LAN host needs no key to open sockets): at most
``max_pending`` handshakes in flight, of which ``reserved_pending`` only for known addresses
(IPs from which an authorized key that is not banned authenticated before, remembered by the
transport, at most 1024), at most ``max_pending_per_address`` per remote IP, and
``handshakes_per_s`` new ones per second (burst: twice that; known addresses have their own
bucket). An inbound socket gets ``config.first_byte_timeout`` for its first bytes and
``config.handshake_timeout`` for the whole handshake. ``max_connections`` caps the
authenticated peers (inbound new keys beyond it are closed with ``connection_limit``);
sockets from unknown addresses are refused at once while it is reached. Refusals and failed
inbound handshakes are logged at most about once a second after a burst of 20.

When two nodes dial each other at once, both keep the connection opened by the node with the
smaller key id, so each pair ends with exactly one connection. A failing connection never
affects the others; the server keeps accepting.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bedrock.canonical import canonical
from ledger_core.crypto.keys import KeyPair
from ledger_core.net.backoff import Backoff
from ledger_core.net.callbacks import call_safely
from ledger_core.net.channel import SecureChannel
from ledger_core.net.errors import ProtocolError
from ledger_core.net.handshake import HandshakeError, IsAuthorized
from ledger_core.net.peer import Peer, PeerConfig, PeerInfo, PeerRefused, open_peer
from ledger_core.net.peer_score import FATAL, MINOR, SERIOUS, BanBook, BanInfo
from ledger_core.net.ratelimit import TokenBucket

log = logging.getLogger("ledger_core.net")

_CLOSE_PENALTY = {
    "rate_limited": FATAL,
    "bad_message": FATAL,
    "unknown_type": FATAL,
    "oversized": FATAL,
    "decrypt_failed": FATAL,
    "control_overflow": SERIOUS,
    "write_timeout": MINOR,
    "pong_timeout": SERIOUS,
}
_MAX_KNOWN_ADDRESSES = 1024
_DISCOVERED_PER_KEY = 2


def close_penalty(reason: str) -> int:
    """Points for a connection that the peer's own loops closed with ``reason`` (0: none)."""
    return _CLOSE_PENALTY.get(reason.split(":", 1)[0], 0)


class Banned(HandshakeError):
    """The authenticated peer's key (``key_id``) is banned here."""

    def __init__(self, key_id: str) -> None:
        super().__init__("banned", f"node key {key_id[:16]} is banned")
        self.key_id = key_id


@dataclass
class _Dialer:
    task: asyncio.Task[None]
    key_id: str | None
    discovered: bool


class _LogLimit:
    """Rate limit for log lines that a host without a key can trigger (a flood must not fill
    the disk): a burst of lines, then about one per second carrying how many were skipped."""

    def __init__(self, now: float, per_s: float = 1.0, burst: float = 20.0) -> None:
        self._bucket = TokenBucket(per_s, burst, now)
        self._skipped = 0

    def allow(self, now: float) -> int | None:
        """None: skip this line; else how many lines were skipped before it."""
        if not self._bucket.allow(now):
            self._skipped += 1
            return None
        skipped, self._skipped = self._skipped, 0
        return skipped


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
        max_pending: int = 16,
        max_pending_per_address: int = 4,
        reserved_pending: int = 8,
        max_discovered_dialers: int = 32,
        ban_book: BanBook | None = None,
    ) -> None:
        if not 0 <= reserved_pending < max_pending or max_pending_per_address < 1:
            raise ValueError(
                "need 0 <= reserved_pending < max_pending, max_pending_per_address >= 1"
            )
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
        self.max_pending = max_pending
        self.max_pending_per_address = max_pending_per_address
        self.reserved_pending = reserved_pending
        self.max_discovered_dialers = max_discovered_dialers
        now = time.monotonic()
        self._accepts = TokenBucket(handshakes_per_s, 2 * handshakes_per_s, now)
        self._known_accepts = TokenBucket(handshakes_per_s, 2 * handshakes_per_s, now)
        self._ban_book = ban_book if ban_book is not None else BanBook()
        self.peers: dict[str, Peer] = {}
        self._server: asyncio.Server | None = None
        self._dialers: dict[tuple[str, int], _Dialer] = {}
        self._handshaking: set[asyncio.Task[Any]] = set()
        self._pending_by_ip: dict[str, int] = {}
        self._known: OrderedDict[str, str] = OrderedDict()  # remote IP -> key id last seen there
        self._all_peers: set[Peer] = set()
        self._closers: set[asyncio.Task[None]] = set()
        self._log_limit = _LogLimit(now)
        self._closing = False

    # -- bans -----------------------------------------------------------------------------------

    def penalize(self, key_id: str, reason: str, points: int, detail: str = "") -> bool:
        """Add penalty points to ``key_id``; True when it is banned (its connections then
        close). Never raises."""
        try:
            if not isinstance(key_id, str) or not key_id:
                raise TypeError(f"key_id must be a node key id, not {key_id!r}")
            now = time.monotonic()
            ban = self._ban_book.penalize(key_id, reason, points, now, time.time(), detail)
            banned = ban is not None or self._ban_book.is_banned(key_id, now)
            extra = f" ({detail})" if detail else ""
            if ban is not None:
                log.warning(
                    "node %s banned for %.0f s (offence %d): %s%s",
                    key_id[:16],
                    ban.until - ban.since,
                    ban.offences,
                    reason,
                    extra,
                )
            else:
                log.warning(
                    "node %s penalized (%d points): %s%s", key_id[:16], points, reason, extra
                )
            if banned:
                self._close_all_of(key_id, f"banned: {reason}")
            return banned
        except Exception:
            log.exception("penalizing node %s failed", str(key_id)[:16])
            return False

    def is_banned(self, key_id: str) -> bool:
        return self._ban_book.is_banned(key_id, time.monotonic())

    def bans(self) -> list[BanInfo]:
        return self._ban_book.bans(time.monotonic())

    def _close_all_of(self, key_id: str, reason: str) -> None:
        targets = [p for p in self._all_peers if p.key_id == key_id and not p.closed]
        if not targets:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.error(
                "penalize() called off the transport's loop: node %s stays connected", key_id[:16]
            )
            return
        for p in targets:
            task = loop.create_task(p.close(reason), name=f"ban-{key_id[:8]}")
            self._closers.add(task)
            task.add_done_callback(self._closers.discard)

    def _admits(self, key_id: str) -> bool:
        """The handshake's check: not banned (raises ``Banned``), then the membership check."""
        if self.is_banned(key_id):
            raise Banned(key_id)
        return self.is_authorized(key_id)

    def _authorized_safely(self, key_id: str) -> bool:
        try:
            return bool(self.is_authorized(key_id))
        except Exception:
            log.exception("is_authorized failed for node %s", key_id[:16])
            return False

    # -- admission ------------------------------------------------------------------------------

    def _is_known(self, ip: str) -> bool:
        kid = self._known.get(ip)
        return kid is not None and not self.is_banned(kid) and self._authorized_safely(kid)

    def _learn_address(self, ip: str, key_id: str) -> None:
        self._known[ip] = key_id
        self._known.move_to_end(ip)
        while len(self._known) > _MAX_KNOWN_ADDRESSES:
            self._known.popitem(last=False)

    def _admission(self, ip: str) -> str | None:
        """Why a new inbound socket from ``ip`` is refused, or None to admit it."""
        if self._closing:
            return "shutting down"
        if self._pending_by_ip.get(ip, 0) >= self.max_pending_per_address:
            return "too many handshakes from this address"
        known = self._is_known(ip)
        if not known and len(self.peers) >= self.max_connections:
            return "connection limit reached"
        pending = len(self._handshaking)
        if pending >= (self.max_pending if known else self.max_pending - self.reserved_pending):
            return "too many handshakes in flight"
        if not (self._known_accepts if known else self._accepts).allow(time.monotonic()):
            return "too many handshakes per second"
        return None

    def _log_limited(self, msg: str, *args: Any) -> None:
        skipped = self._log_limit.allow(time.monotonic())
        if skipped is None:
            return
        if skipped:
            msg += f" ({skipped} similar lines skipped)"
        log.warning(msg, *args)

    # -- server and dialling --------------------------------------------------------------------

    async def listen(self, host: str, port: int) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._on_inbound, host, port)
        sock = self._server.sockets[0].getsockname()
        return str(sock[0]), int(sock[1])

    def _channel(self, role: str, expected_key_id: str | None) -> SecureChannel:
        return SecureChannel(
            role,
            self.keys,
            self.chain_id,
            self._admits,
            expected_key_id=expected_key_id,
            max_frame=self.config.max_frame,
        )

    async def _on_inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        addr = writer.get_extra_info("peername") or ("?", 0)
        ip = str(addr[0])
        refused = self._admission(ip)
        if refused is not None:
            self._log_limited("refusing connection from %s: %s", ip, refused)
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._handshaking.add(task)
        self._pending_by_ip[ip] = self._pending_by_ip.get(ip, 0) + 1
        try:
            peer = await self._open(reader, writer, "responder", None, outbound=False)
        except (ProtocolError, TimeoutError, ConnectionError, OSError) as exc:
            self._log_limited("inbound handshake from %s failed: %s", ip, _reason(exc))
            return
        except asyncio.CancelledError:
            # close() cancels handshakes in flight; this task is the server's top level (asyncio
            # would log a cancelled connection callback as an error), so end quietly.
            return
        finally:
            self._handshaking.discard(task)
            left = self._pending_by_ip.pop(ip, 1) - 1
            if left > 0:
                self._pending_by_ip[ip] = left
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
        if expected_key_id is not None and self.is_banned(expected_key_id):
            raise Banned(expected_key_id)
        async with asyncio.timeout(self.config.handshake_timeout):
            reader, writer = await asyncio.open_connection(host, port)
        peer = await self._open(reader, writer, "initiator", expected_key_id, outbound=True)
        await self._register(peer)
        return peer

    def add_peer(
        self, host: str, port: int, key_id: str | None = None, *, discovered: bool = False
    ) -> bool:
        addr = (host, port)
        if addr in self._dialers or self._closing:
            return False
        if discovered:
            if key_id is not None and (
                key_id == self.keys.key_id or not self._authorized_safely(key_id)
            ):
                log.debug(
                    "ignoring discovered %s:%d: node key is ours or not authorized", host, port
                )
                return False
            same = [a for a, d in self._dialers.items() if d.discovered and d.key_id == key_id]
            if key_id is not None and len(same) >= _DISCOVERED_PER_KEY:
                self.remove_peer(*same[0])  # the oldest: a node that moved is found again
            elif sum(d.discovered for d in self._dialers.values()) >= self.max_discovered_dialers:
                log.warning(
                    "ignoring discovered peer %s:%d (%s): already %d discovered addresses",
                    host,
                    port,
                    (key_id or "?")[:16],
                    self.max_discovered_dialers,
                )
                return False
        task = asyncio.create_task(self._dial_loop(host, port, key_id), name=f"dial-{host}:{port}")
        self._dialers[addr] = _Dialer(task, key_id, discovered)
        return True

    def remove_peer(self, host: str, port: int) -> None:
        dialer = self._dialers.pop((host, port), None)
        if dialer is not None:
            dialer.task.cancel()

    def remove_peers_of(self, key_id: str) -> int:
        """Stop every dial loop added with ``key_id``; returns how many."""
        addrs = [a for a, d in self._dialers.items() if d.key_id == key_id]
        for a in addrs:
            self.remove_peer(*a)
        return len(addrs)

    async def _dial_loop(self, host: str, port: int, key_id: str | None) -> None:
        backoff = Backoff(*self._backoff, rng=self._rng)
        known = key_id
        while not self._closing:
            banned_for = self._ban_book.ban_remaining(known, time.monotonic()) if known else 0.0
            if banned_for > 0:
                log.info(
                    "not dialling %s:%d: node %s is banned for %.0f s more",
                    host,
                    port,
                    known[:16],
                    banned_for,
                )
                await asyncio.sleep(banned_for + self._rng.uniform(0.0, 0.1))
                continue
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
                if isinstance(exc, Banned):
                    known = exc.key_id
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
        if self.is_banned(peer.key_id):  # banned during its handshake
            await peer.close("banned")
            return
        existing = self.peers.get(peer.key_id)
        if existing is None and not peer.outbound and len(self.peers) >= self.max_connections:
            await peer.close("connection_limit")
            return
        self._all_peers.add(peer)
        if existing is not None and not existing.closed:
            if self._preferred(peer) and not self._preferred(existing):
                self.peers[peer.key_id] = peer
                await existing.close("duplicate")
            else:
                await peer.close("duplicate")
                return
        else:
            self.peers[peer.key_id] = peer
        self._learn_address(peer.address[0], peer.key_id)
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
        points = close_penalty(reason) if peer.remote_fault else 0
        if points:
            self.penalize(peer.key_id, reason, points, "connection closed for a protocol violation")
        if self.peers.get(peer.key_id) is peer:
            del self.peers[peer.key_id]
            await call_safely(log, self._on_disconnected, peer.key_id, reason)

    async def _deliver(self, peer: Peer, message: Any) -> None:
        # Exceptions go up to the peer, which logs them with the peer's key id.
        result = self._on_message(peer.key_id, message)
        if inspect.isawaitable(result):
            await result

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
        await self.send_raw(key_id, canonical(message), timeout)

    async def send_raw(self, key_id: str, data: bytes, timeout: float | None = None) -> None:
        """``send`` of a message already encoded as canonical JSON (the caller vouches for it)."""
        peer = self.peers.get(key_id)
        if peer is None:
            raise KeyError(f"no connection to node {key_id[:16]}")
        await peer.send_raw(data, timeout)

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
        tasks = [d.task for d in self._dialers.values()] + list(self._handshaking)
        self._dialers.clear()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(
            *(p.close("shutdown") for p in list(self._all_peers)),
            *list(self._closers),
            return_exceptions=True,
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
