"""One authenticated peer connection on asyncio streams: send queue, keep-alive, rate limit, RTT.

Inside the encrypted channel every frame's plaintext starts with a type byte:
``0x00`` + canonical JSON (an application message), ``0x01`` + 8 bytes (ping), ``0x02`` + the same
8 bytes (pong). Application messages are decoded with ``bedrock.canonical.decode`` (canonical
form required, size limited to ``PeerConfig.max_message``).

Interface (``transport.Transport`` creates peers; the node mostly uses the transport):
- ``PeerConfig``: limits and timeouts (defaults in the dataclass).
- ``await open_peer(reader, writer, channel, config, on_message, on_close) -> Peer`` runs the
  handshake under ``config.handshake_timeout`` (an inbound socket must also send its first bytes
  within ``config.first_byte_timeout``; raises ``ProtocolError`` / ``TimeoutError`` /
  ``ConnectionError`` and closes the socket). An initiator also waits for the responder's first
  frame, so an outbound peer is only returned once the other side accepted our key (else
  ``PeerRefused(key_id)``, a ``ConnectionError``). ``peer.start()`` then starts
  its reader, writer and keep-alive tasks (frames that arrived with the handshake go first).
  ``on_message(peer, message)`` may be a plain function or return an awaitable (awaited before
  the next frame is read: back-pressure on that peer; an exception it raises is logged with the
  peer's key id and the connection kept: a bug in the local handler is not the peer's fault).
  ``on_close(peer, reason)`` runs once.
- ``Peer.key_id`` (authenticated), ``address``, ``outbound``, ``rtt`` (seconds, last ping/pong,
  or None), ``frames_in``, ``info()`` (a ``PeerInfo`` snapshot for the GUI), ``closed``,
  ``close_reason``, ``remote_fault`` (True when the peer's own loops closed it for what the
  remote did or failed to do: a ``ProtocolError``, ``write_timeout``, ``control_overflow``).
- Sending. Each peer has a bounded queue (``config.send_queue`` messages):
  ``try_send(message) -> bool`` never waits and drops the message when the queue is full
  (counted in ``info().dropped``): use it for gossip, which is re-sent anyway;
  ``await send(message, timeout=None)`` waits for room (back-pressure) and raises
  ``TimeoutError`` or ``ConnectionError`` (peer closed). ``*_raw`` variants take canonical bytes
  already encoded (broadcast encodes once). Pings and pongs go ahead of the queue so a busy peer
  still keeps its connection alive; their lane holds ``config.control_queue`` frames, and a peer
  that pings faster than it reads our pongs is closed with ``control_overflow``.
- Every write waits at most ``config.write_timeout`` seconds for the socket to drain; a peer
  that does not read is closed with ``write_timeout``. Those two closes abort the socket (what
  it never read is dropped), so memory stays bounded by the queues.
- ``await close(reason)`` / ``await wait_closed() -> reason``.

Rate limit: a receiver closes a peer that sends more than ``msgs_per_s``/``bytes_per_s``
(beyond the ``msg_burst``/``byte_burst`` allowance) with ``rate_limited``. Every node paces its
own writer at 90% of the same figures, so only a peer that floods on purpose (or runs a
different config) trips it; a fast local producer is slowed down through the send queue.

Closing rules: any ``ProtocolError`` (bad frame, failed decryption, non-canonical JSON, unknown
type, ``control_overflow``), exceeding the rate limit (``rate_limited``), ``write_timeout``, no
complete frame for ``idle_timeout`` seconds (``idle_timeout``: a half-sent frame does not
count), EOF or a socket error closes this connection only and logs the reason. Pings go out
every ``ping_interval`` seconds; a peer that leaves a ping unanswered for ``pong_timeout``
seconds (when that is shorter than the interval) is closed with ``pong_timeout``: it sends but
does not read, and what we queue for it would only grow until the write timeout; a handler
that blocks the reader longer than ``idle_timeout`` also gets the peer closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bedrock.canonical import EncodingError, canonical, decode
from bedrock.errors import CodedError
from ledger_core.net.channel import SecureChannel
from ledger_core.net.errors import ProtocolError
from ledger_core.net.framing import DEFAULT_MAX_FRAME
from ledger_core.net.handshake import TAG_BYTES
from ledger_core.net.ratelimit import TokenBucket

log = logging.getLogger("ledger_core.net")

T_MSG, T_PING, T_PONG = 0, 1, 2
_PING_BYTES = 8
_PACE = 0.9
# Close reasons for which the socket is aborted at once rather than flushed.
_ABORT = frozenset({"write_timeout", "control_overflow"})


@dataclass(frozen=True)
class PeerConfig:
    """Limits and timeouts of one connection (seconds, bytes, frames)."""

    max_frame: int = DEFAULT_MAX_FRAME
    handshake_timeout: float = 5.0
    first_byte_timeout: float = 1.0
    write_timeout: float = 10.0
    idle_timeout: float = 30.0
    ping_interval: float = 10.0
    pong_timeout: float = 4.0
    send_queue: int = 1024
    control_queue: int = 64
    msgs_per_s: float = 20000.0
    msg_burst: float = 40000.0
    bytes_per_s: float = 64 * 1024 * 1024
    byte_burst: float = 128 * 1024 * 1024
    read_chunk: int = 256 * 1024

    def __post_init__(self) -> None:
        if not 0 < self.ping_interval < self.idle_timeout:
            raise ValueError("need 0 < ping_interval < idle_timeout (pings keep peers alive)")
        if self.send_queue < 1 or self.control_queue < 1 or self.max_frame <= TAG_BYTES + 1:
            raise ValueError("queues must hold at least 1 frame and max_frame be above 17 bytes")
        if min(self.handshake_timeout, self.first_byte_timeout, self.write_timeout) <= 0:
            raise ValueError("timeouts must be positive")

    @property
    def max_message(self) -> int:
        """Largest canonical JSON message: the frame minus the tag and the type byte."""
        return self.max_frame - TAG_BYTES - 1


@dataclass(frozen=True)
class PeerInfo:
    key_id: str
    host: str
    port: int
    outbound: bool
    rtt_ms: float | None
    connected_at: float
    msgs_in: int
    msgs_out: int
    bytes_in: int
    bytes_out: int
    dropped: int


class _SendQueue:
    """Bounded queue of application payloads plus a bounded, prioritized lane for control frames."""

    def __init__(self, maxsize: int, max_control: int = 64) -> None:
        self.maxsize = maxsize
        self.max_control = max_control
        self._items: deque[bytes] = deque()
        self._control: deque[bytes] = deque()
        self._ready = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self.closed = False

    def put_nowait(self, item: bytes) -> bool:
        if self.closed or len(self._items) >= self.maxsize:
            return False
        self._items.append(item)
        self._ready.set()
        if len(self._items) >= self.maxsize:
            self._space.clear()
        return True

    async def put(self, item: bytes) -> None:
        while not self.put_nowait(item):
            if self.closed:
                raise ConnectionError("the connection is closed")
            await self._space.wait()

    def put_control(self, item: bytes) -> bool:
        """Queue a control frame; False when the lane is full (the peer does not read)."""
        if len(self._control) >= self.max_control:
            return False
        self._control.append(item)
        self._ready.set()
        return True

    def __len__(self) -> int:
        return len(self._items)

    @property
    def control_len(self) -> int:
        return len(self._control)

    async def get_batch(self, limit: int = 256) -> list[bytes]:
        while not (self._items or self._control):
            self._ready.clear()
            await self._ready.wait()
        batch = list(self._control)
        self._control.clear()
        while self._items and len(batch) < limit:
            batch.append(self._items.popleft())
        if len(self._items) < self.maxsize:
            self._space.set()
        return batch

    def close(self) -> None:
        self.closed = True
        self._space.set()  # wake senders waiting for room: they see the queue closed


class PeerRefused(CodedError, ConnectionError):
    """We authenticated the responder (``key_id``) but it hung up: it refused our key, or it
    already has a connection with us (a duplicate)."""

    code = "peer_refused"

    def __init__(self, key_id: str) -> None:
        super().__init__(f"node {key_id[:16]} closed the connection after the handshake")
        self.key_id = key_id


OnMessage = Callable[["Peer", Any], Any]
OnClose = Callable[["Peer", str], Any]


class Peer:
    """An established connection; built by ``open_peer``."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        channel: SecureChannel,
        config: PeerConfig,
        on_message: OnMessage,
        on_close: OnClose | None,
        outbound: bool,
    ) -> None:
        assert channel.peer_key_id is not None
        self.key_id: str = channel.peer_key_id
        self.outbound = outbound
        peername = writer.get_extra_info("peername") or ("?", 0)
        self.address: tuple[str, int] = (str(peername[0]), int(peername[1]))
        self.config = config
        self.rtt: float | None = None
        self.close_reason: str | None = None
        self.remote_fault = False  # closed for what the remote did (or failed to do)
        self._reader, self._writer, self._channel = reader, writer, channel
        self._on_message, self._on_close = on_message, on_close
        self._queue = _SendQueue(config.send_queue, config.control_queue)
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._loop = loop
        self._last_rx = now
        self._ping: tuple[bytes, float] | None = None
        self._msg_bucket = TokenBucket(config.msgs_per_s, config.msg_burst, now)
        self._byte_bucket = TokenBucket(config.bytes_per_s, config.byte_burst, now)
        # Honest senders pace themselves below the limit every node enforces (same config).
        p = _PACE
        self._pace_msgs = TokenBucket(config.msgs_per_s * p, config.msg_burst * p, now)
        self._pace_bytes = TokenBucket(config.bytes_per_s * p, config.byte_burst * p, now)
        self._connected_at = time.time()
        self.frames_in = 0
        self._stats = {"msgs_in": 0, "msgs_out": 0, "bytes_in": 0, "bytes_out": 0, "dropped": 0}
        self._closed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._early: list[bytes] = []

    # -- public ---------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.close_reason is not None

    def info(self) -> PeerInfo:
        s = self._stats
        return PeerInfo(
            key_id=self.key_id,
            host=self.address[0],
            port=self.address[1],
            outbound=self.outbound,
            rtt_ms=None if self.rtt is None else self.rtt * 1000.0,
            connected_at=self._connected_at,
            msgs_in=s["msgs_in"],
            msgs_out=s["msgs_out"],
            bytes_in=s["bytes_in"],
            bytes_out=s["bytes_out"],
            dropped=s["dropped"],
        )

    def _payload(self, data: bytes) -> bytes:
        if len(data) > self.config.max_message:
            raise ValueError(
                f"message of {len(data)} bytes exceeds the limit of {self.config.max_message}"
            )
        return bytes([T_MSG]) + data

    def try_send_raw(self, data: bytes) -> bool:
        if self.closed:
            return False
        if self._queue.put_nowait(self._payload(data)):
            return True
        self._stats["dropped"] += 1
        return False

    def try_send(self, message: Any) -> bool:
        return self.try_send_raw(canonical(message))

    async def send_raw(self, data: bytes, timeout: float | None = None) -> None:
        payload = self._payload(data)
        if self.closed:
            raise ConnectionError(f"peer {self.key_id[:16]} is closed ({self.close_reason})")
        try:
            async with asyncio.timeout(timeout):
                await self._queue.put(payload)
        except ConnectionError:
            raise ConnectionError(
                f"peer {self.key_id[:16]} is closed ({self.close_reason})"
            ) from None

    async def send(self, message: Any, timeout: float | None = None) -> None:
        await self.send_raw(canonical(message), timeout)

    async def wait_closed(self) -> str:
        await self._closed.wait()
        assert self.close_reason is not None
        return self.close_reason

    async def close(self, reason: str = "closed") -> None:
        if self.close_reason is None:
            self.close_reason = reason
            quiet = ("closed", "eof", "duplicate", "shutdown")
            level = logging.INFO if reason in quiet else logging.WARNING
            log.log(level, "peer %s at %s:%d closed: %s", self.key_id[:16], *self.address, reason)
            self._queue.close()
            current = asyncio.current_task()
            others = [t for t in self._tasks if t is not current]
            for t in others:
                t.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            transport = self._writer.transport
            if reason in _ABORT:
                transport.abort()  # it does not read: unsent bytes would stay buffered forever
            else:
                self._writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self._writer.wait_closed()
            transport.abort()  # a no-op once closed; else drops what the peer never read
            self._closed.set()
            if self._on_close is not None:
                try:
                    result = self._on_close(self, reason)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("on_close callback failed")
        else:
            await self._closed.wait()

    # -- tasks ----------------------------------------------------------------------------------

    def start(self) -> None:
        early, self._early = self._early, []
        name = self.key_id[:8]
        self._tasks = [
            asyncio.create_task(self._read_loop(early), name=f"peer-read-{name}"),
            asyncio.create_task(self._write_loop(), name=f"peer-write-{name}"),
            asyncio.create_task(self._keepalive_loop(), name=f"peer-keepalive-{name}"),
        ]

    async def _read_loop(self, early: list[bytes]) -> None:
        reason = "eof"
        try:
            for plaintext in early:
                await self._handle(plaintext)
            while True:
                data = await self._reader.read(self.config.read_chunk)
                if not data:
                    break
                self._channel.push(data)
                while (plaintext := self._channel.next_message()) is not None:
                    await self._handle(plaintext)
        except ProtocolError as exc:
            reason = exc.code
            self.remote_fault = True
        except (ConnectionError, OSError) as exc:
            reason = f"read_error: {exc.__class__.__name__}"
        except asyncio.CancelledError:
            return
        await self.close(reason)

    async def _handle(self, plaintext: bytes) -> None:
        now = self._loop.time()
        self._last_rx = now
        self.frames_in += 1
        n = len(plaintext) + TAG_BYTES
        self._stats["bytes_in"] += n
        if not (self._msg_bucket.allow(now) and self._byte_bucket.allow(now, n)):
            raise ProtocolError("rate_limited", "the peer exceeded its message or byte rate")
        if not plaintext:
            raise ProtocolError("bad_message", "empty frame")
        kind, body = plaintext[0], plaintext[1:]
        if kind == T_MSG:
            try:
                message = decode(body, max_bytes=self.config.max_message)
            except EncodingError as exc:
                raise ProtocolError(f"bad_message:{exc.code}", str(exc)) from None
            self._stats["msgs_in"] += 1
            try:
                result = self._on_message(self, message)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                # A bug in the local handler is not the peer's fault: keep the connection.
                log.exception("message handler failed for peer %s", self.key_id[:16])
        elif kind == T_PING and len(body) == _PING_BYTES:
            if not self._queue.put_control(bytes([T_PONG]) + body):
                raise ProtocolError("control_overflow", "pings faster than it reads the pongs")
        elif kind == T_PONG and len(body) == _PING_BYTES:
            if self._ping is not None and self._ping[0] == body:
                self.rtt = now - self._ping[1]
                self._ping = None
        else:
            raise ProtocolError("unknown_type", f"frame type {kind} with {len(body)} bytes")

    async def _write_loop(self) -> None:
        try:
            while True:
                batch = await self._queue.get_batch()
                now = self._loop.time()
                for payload in batch:
                    wait = max(
                        self._pace_msgs.reserve(now),
                        self._pace_bytes.reserve(now, len(payload) + TAG_BYTES),
                    )
                    if wait > 0:
                        # Write what the bucket allowed, then wait a little longer than needed
                        # so the next frames go out as a chunk rather than one per sleep.
                        await self._flush()
                        await asyncio.sleep(max(wait, 0.005))
                        now = self._loop.time()
                    self._channel.send(payload)
                    if payload[0] == T_MSG:
                        self._stats["msgs_out"] += 1
                await self._flush()
        except asyncio.CancelledError:
            return
        except TimeoutError:  # before OSError, of which it is a subclass
            self.remote_fault = True
            await self.close("write_timeout")
        except (ConnectionError, OSError, ProtocolError) as exc:
            await self.close(f"write_error: {exc.__class__.__name__}")

    async def _flush(self) -> None:
        data = self._channel.data_to_send()
        if data:
            self._stats["bytes_out"] += len(data)
            self._writer.write(data)
            async with asyncio.timeout(self.config.write_timeout):
                await self._writer.drain()

    async def _keepalive_loop(self) -> None:
        cfg = self.config
        tick = max(0.01, min(cfg.ping_interval, cfg.idle_timeout, cfg.pong_timeout) / 4)
        next_ping = self._loop.time()
        try:
            while True:
                now = self._loop.time()
                if now - self._last_rx > cfg.idle_timeout:
                    await self.close("idle_timeout")
                    return
                if self._ping is not None and now - self._ping[1] > cfg.pong_timeout:
                    # it sends (pings, messages) but does not read what we send: its queue
                    # here would only grow until the write timeout
                    self.remote_fault = True
                    await self.close("pong_timeout")
                    return
                if now >= next_ping:
                    token = os.urandom(_PING_BYTES)
                    self._ping = (token, now)
                    if not self._queue.put_control(bytes([T_PING]) + token):
                        self.remote_fault = True
                        await self.close("control_overflow")
                        return
                    next_ping = now + cfg.ping_interval
                await asyncio.sleep(tick)
        except asyncio.CancelledError:
            return


async def open_peer(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    channel: SecureChannel,
    config: PeerConfig,
    on_message: OnMessage,
    on_close: OnClose | None = None,
    *,
    outbound: bool,
) -> Peer:
    """Run the handshake (bounded by ``config.handshake_timeout``); the caller then ``start()``s."""
    early: list[bytes] = []
    try:
        async with asyncio.timeout(config.handshake_timeout):
            first = channel.data_to_send()
            if first:
                writer.write(first)
            # An inbound socket that says nothing holds a handshake slot for nothing: it gets
            # ``first_byte_timeout`` for its first bytes, the whole handshake still its timeout.
            wait_first = None if outbound else config.first_byte_timeout
            # The initiator's side of the handshake ends before the responder has checked the
            # initiator's key: wait for the responder's first frame (its first ping) as proof.
            while not channel.established or (outbound and not early):
                async with asyncio.timeout(wait_first):
                    data = await reader.read(4096)
                wait_first = None
                if not data:
                    if channel.peer_key_id is not None:
                        raise PeerRefused(channel.peer_key_id)
                    raise ConnectionError("connection closed during the handshake")
                early.extend(channel.receive_data(data))
                out = channel.data_to_send()
                if out:
                    writer.write(out)
            await writer.drain()
    except BaseException:
        writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        raise
    peer = Peer(reader, writer, channel, config, on_message, on_close, outbound)
    peer._early = early
    return peer
