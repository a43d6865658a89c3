"""Limits before authentication: a LAN host with no key must not lock validators out.

Attackers connect from other loopback addresses (127.0.0.x), so the per-address limits see them
as other hosts; a system where only 127.0.0.1 can be bound skips these tests.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from ledger_core.net.peer import PeerConfig
from tests.support.netutil import Node, closes_within, keys, raw_client, until

A, B, C = keys(1), keys(2), keys(3)
ALL = {A.key_id, B.key_id, C.key_id}
# A slow handshake allowance, so that only the first-byte timeout can explain a quick drop.
SLOW = PeerConfig(handshake_timeout=5.0, idle_timeout=5.0, ping_interval=1.0)


def _can_bind(host: str) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, 0))
        except OSError:
            return False
    return True


pytestmark = pytest.mark.skipif(
    not _can_bind("127.0.0.2"), reason="needs the whole 127.0.0.0/8 on the loopback interface"
)


def run(coro, timeout: float = 30.0):
    async def main():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


async def idle_sockets(addr, source: str, n: int):
    """``n`` TCP connections from ``source`` that never send a byte."""
    return [await asyncio.open_connection(*addr, local_addr=(source, 0)) for _ in range(n)]


async def count_held(conns, wait: float = 0.3) -> int:
    """How many of ``conns`` the server has not closed within ``wait`` seconds."""
    closed = await asyncio.gather(*(closes_within(r, wait) for r, _ in conns))
    return sum(not c for c in closed)


def close_all(conns) -> None:
    for _, w in conns:
        w.close()


def test_a_validator_reconnects_while_a_host_without_a_key_holds_idle_sockets() -> None:
    async def main() -> None:
        a = await Node(A, ALL, SLOW).start()
        b = await Node(B, ALL, SLOW).start()
        flood = []
        try:
            await b.transport.connect(*a.addr)  # a learns b's address
            await until(lambda: B.key_id in a.transport.peers)
            await b.transport.disconnect(A.key_id, "restart")
            await until(lambda: B.key_id not in a.transport.peers)
            for i in range(25):  # 100 idle sockets from 25 addresses
                flood += await idle_sockets(a.addr, f"127.0.0.{10 + i}", 4)
            peer = await b.transport.connect(*a.addr)  # at once, while the flood holds on
            assert peer.key_id == A.key_id and not peer.closed
            await until(lambda: B.key_id in a.transport.peers)
            assert b.transport.try_send(A.key_id, {"still": "here"})
            assert await a.recv() == (B.key_id, {"still": "here"})
        finally:
            close_all(flood)
            await a.transport.close()
            await b.transport.close()

    run(main())


def test_handshakes_in_flight_are_capped_per_address_and_for_unknown_hosts() -> None:
    async def main() -> None:
        a = await Node(A, ALL, SLOW).start()  # 4 per address, 16 in all, 8 of them reserved
        b = await Node(B, ALL, SLOW).start()
        conns = []
        try:
            await b.transport.connect(*a.addr)  # known address: 127.0.0.1
            await b.transport.disconnect(A.key_id, "restart")
            first = await idle_sockets(a.addr, "127.0.0.20", 10)
            second = await idle_sockets(a.addr, "127.0.0.21", 10)
            third = await idle_sockets(a.addr, "127.0.0.22", 10)
            known = await idle_sockets(a.addr, "127.0.0.1", 6)  # gets the reserved slots
            conns = first + second + third + known
            held = await asyncio.gather(*(count_held(c) for c in (first, second, third, known)))
            # 4 per address; unknown hosts get 8 slots in all, the known address its own 4
            assert held == [4, 4, 0, 4]
        finally:
            close_all(conns)
            await a.transport.close()
            await b.transport.close()

    run(main())


def test_an_idle_inbound_socket_is_dropped_after_about_a_second() -> None:
    async def main() -> None:
        config = PeerConfig(handshake_timeout=2.5, idle_timeout=5.0, ping_interval=1.0)
        a = await Node(A, ALL, config).start()
        try:
            loop = asyncio.get_running_loop()
            [(silent, w1)] = await idle_sockets(a.addr, "127.0.0.30", 1)
            [(slow, w2)] = await idle_sockets(a.addr, "127.0.0.31", 1)
            w2.write(b"\x00\x00")  # half a frame header: it has started, so it gets its 2.5 s
            t0 = loop.time()
            assert await closes_within(silent, 1.6)
            assert 0.8 <= loop.time() - t0
            # the started one is still there well after a second, and gone after its 2.5 s
            assert not await closes_within(slow, t0 + 1.8 - loop.time())
            assert await closes_within(slow, 2.0)
            w1.close()
            w2.close()
        finally:
            await a.transport.close()

    run(main())


def test_pending_handshakes_do_not_count_against_the_connection_cap() -> None:
    async def main() -> None:
        a = await Node(A, ALL, SLOW, max_connections=2).start()
        b = await Node(B, ALL, SLOW).start()
        idle = []
        try:
            idle = await idle_sockets(a.addr, "127.0.0.40", 3)
            await b.transport.connect(*a.addr)
            await until(lambda: B.key_id in a.transport.peers)
            reader, writer, _ = await raw_client(a.addr, C)
            await until(lambda: C.key_id in a.transport.peers)
            assert len(a.transport.peers) == 2
            # a third key is over the cap of authenticated peers
            third = await idle_sockets(a.addr, "127.0.0.41", 1)
            assert await count_held(third) == 0
            idle += third
            writer.close()
        finally:
            close_all(idle)
            await a.transport.close()
            await b.transport.close()

    run(main())
