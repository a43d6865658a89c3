"""Helpers for the asyncio network tests: nodes on 127.0.0.1 with short timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ledger_core.crypto.keys import KeyPair
from ledger_core.net.channel import SecureChannel
from ledger_core.net.peer import PeerConfig
from ledger_core.net.transport import Transport

CHAIN = "c" * 64
FAST = PeerConfig(handshake_timeout=1.0, idle_timeout=1.0, ping_interval=0.1)


def keys(n: int) -> KeyPair:
    return KeyPair.from_seed(bytes([n]) * 32)


class Node:
    """A transport plus an inbox and a log of connect/disconnect events."""

    def __init__(
        self,
        pair: KeyPair,
        authorized: set[str],
        config: PeerConfig = FAST,
        chain: str = CHAIN,
        backoff: tuple[float, float] = (0.05, 0.2),
        **transport_options,
    ) -> None:
        self.keys = pair
        self.inbox: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        self.events: list[tuple[str, str, str]] = []
        self.authorized = authorized
        self.transport = Transport(
            pair,
            chain,
            lambda kid: kid in self.authorized,
            on_message=lambda kid, msg: self.inbox.put_nowait((kid, msg)),
            on_peer_connected=lambda p: self.events.append(("up", p.key_id, "")),
            on_peer_disconnected=lambda kid, why: self.events.append(("down", kid, why)),
            config=config,
            backoff_base=backoff[0],
            backoff_cap=backoff[1],
            **transport_options,
        )
        self.addr: tuple[str, int] = ("127.0.0.1", 0)

    async def start(self, port: int = 0) -> Node:
        self.addr = await self.transport.listen("127.0.0.1", port)
        return self

    def reasons(self) -> list[str]:
        return [why for kind, _, why in self.events if kind == "down"]

    async def recv(self, timeout: float = 2.0) -> tuple[str, object]:
        return await asyncio.wait_for(self.inbox.get(), timeout)


async def until(cond: Callable[[], bool], timeout: float = 3.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def raw_client(addr: tuple[str, int], pair: KeyPair, chain: str = CHAIN):
    """An authenticated connection driven by hand, to send whatever a test wants."""
    reader, writer = await asyncio.open_connection(*addr)
    ch = SecureChannel("initiator", pair, chain, lambda kid: True)
    writer.write(ch.data_to_send())
    while not ch.established:
        data = await asyncio.wait_for(reader.read(4096), 2.0)
        assert data, "server closed during the handshake"
        ch.receive_data(data)
        writer.write(ch.data_to_send())
    await writer.drain()
    return reader, writer, ch


async def closes_within(reader: asyncio.StreamReader, timeout: float) -> bool:
    """True when the other side closes the connection within ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True
