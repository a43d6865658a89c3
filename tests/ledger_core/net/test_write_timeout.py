"""A peer that does not read: bounded control lane, write timeouts, nothing grows without end."""

from __future__ import annotations

import asyncio
import logging
import os

import pytest

from ledger_core.net.peer import T_PING, PeerConfig, _SendQueue
from tests.support.netutil import Node, keys, raw_client, until

A, C = keys(1), keys(3)
ALL = {A.key_id, C.key_id}
BIG = {"blob": "x" * (1024 * 1024)}


def run(coro, timeout: float = 20.0):
    async def main():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


def test_the_control_lane_is_bounded() -> None:
    q = _SendQueue(4, max_control=3)
    assert all(q.put_control(b"\x02" + bytes(8)) for _ in range(3))
    assert not q.put_control(b"\x02" + bytes(8))
    assert q.control_len == 3
    with pytest.raises(ValueError):
        PeerConfig(control_queue=0)
    with pytest.raises(ValueError):
        PeerConfig(write_timeout=0)


async def _pinger(ch, writer, per_tick: int, tick: float) -> None:
    """Sends pings for ever and never reads (the pongs pile up on the other side)."""
    while True:
        for _ in range(per_tick):
            ch.send(bytes([T_PING]) + os.urandom(8))
        writer.write(ch.data_to_send())
        await asyncio.sleep(tick)


async def _watch(peer, seconds: float) -> tuple[int, int]:
    """Largest control lane and send queue seen while ``peer`` is open (at most ``seconds``)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    control = items = 0
    while not peer.closed and loop.time() < end:
        control = max(control, peer._queue.control_len)
        items = max(items, len(peer._queue))
        await asyncio.sleep(0.005)
    return control, items


def test_a_peer_that_pings_and_never_reads_is_closed_with_bounded_queues() -> None:
    async def main() -> None:
        config = PeerConfig(
            handshake_timeout=1.0, idle_timeout=5.0, ping_interval=1.0, write_timeout=5.0
        )
        a = await Node(A, ALL, config).start()
        pinger = None
        try:
            reader, writer, ch = await raw_client(a.addr, C)  # never reads
            await until(lambda: C.key_id in a.transport.peers)
            peer = a.transport.peers[C.key_id]
            for _ in range(32):  # more than any socket buffers hold: the writer blocks
                assert peer.try_send(BIG)
            pinger = asyncio.create_task(_pinger(ch, writer, 50, 0.01))
            control, items = await _watch(peer, 4.0)
            assert peer.closed and peer.close_reason == "control_overflow"
            assert control <= config.control_queue and items <= 32
            await until(lambda: C.key_id not in a.transport.peers)
            assert a.reasons() == ["control_overflow"]
            assert not a.transport.is_banned(C.key_id)  # SERIOUS: a second time would ban
        finally:
            if pinger is not None:
                pinger.cancel()
            await a.transport.close()

    run(main())


def test_a_peer_that_does_not_read_is_closed_after_the_write_timeout(caplog) -> None:
    async def main() -> None:
        config = PeerConfig(
            handshake_timeout=1.0, idle_timeout=5.0, ping_interval=1.0, write_timeout=0.7
        )
        a = await Node(A, ALL, config).start()
        pinger = None
        try:
            reader, writer, ch = await raw_client(a.addr, C)
            await until(lambda: C.key_id in a.transport.peers)
            peer = a.transport.peers[C.key_id]
            pinger = asyncio.create_task(_pinger(ch, writer, 1, 0.2))  # alive, not reading
            waiting = asyncio.create_task(a.transport.send(C.key_id, BIG))
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            with caplog.at_level(logging.WARNING, logger="ledger_core.net"):
                for _ in range(32):
                    peer.try_send(BIG)
                control, _ = await _watch(peer, 6.0)
                assert peer.close_reason == "write_timeout"
                assert loop.time() - t0 < 0.7 + 3.0
                await until(lambda: C.key_id not in a.transport.peers)
            assert control <= config.control_queue
            assert any(
                C.key_id[:16] in r.getMessage()
                and "write_timeout" in r.getMessage()
                and "penalized" in r.getMessage()
                for r in caplog.records
            )
            assert not a.transport.is_banned(C.key_id)  # MINOR
            await asyncio.wait_for(asyncio.gather(waiting, return_exceptions=True), 1.0)
        finally:
            if pinger is not None:
                pinger.cancel()
            await a.transport.close()

    run(main())


def test_a_peer_that_leaves_our_ping_unanswered_is_closed_without_a_ban() -> None:
    """It keeps pinging (so it is never idle) but never reads: nothing we send it arrives, so it
    is dropped at the pong timeout instead of holding a validator slot (an honest node that
    froze looks the same: SERIOUS points, a ban only the second time within a minute)."""

    async def main() -> None:
        config = PeerConfig(handshake_timeout=1.0, idle_timeout=5.0, ping_interval=2.0,
                            pong_timeout=0.5)
        a = await Node(A, ALL, config).start()
        pinger = None
        try:
            reader, writer, ch = await raw_client(a.addr, C)
            await until(lambda: C.key_id in a.transport.peers)
            peer = a.transport.peers[C.key_id]
            pinger = asyncio.create_task(_pinger(ch, writer, 1, 0.2))
            await until(lambda: peer.closed, timeout=3.0, what="the pong timeout")
            assert peer.close_reason == "pong_timeout"
            await until(lambda: a.reasons() == ["pong_timeout"])
            assert not a.transport.is_banned(C.key_id)
        finally:
            if pinger is not None:
                pinger.cancel()
            await a.transport.close()

    run(main())
