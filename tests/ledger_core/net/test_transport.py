"""The asyncio transport on 127.0.0.1: messages, refusals, bad peers, floods, reconnects."""

from __future__ import annotations

import asyncio
import logging
import os

import pytest

from bedrock.canonical import canonical
from ledger_core.net.framing import encode_frame
from ledger_core.net.handshake import HandshakeError
from ledger_core.net.peer import T_MSG, PeerConfig, PeerRefused
from tests.support.netutil import FAST, Node, closes_within, keys, raw_client, until

A, B, C, X = keys(1), keys(2), keys(3), keys(9)
ALL = {A.key_id, B.key_id, C.key_id}


def run(coro, timeout: float = 20.0):
    async def main():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


def test_two_nodes_exchange_messages_and_measure_rtt() -> None:
    async def main() -> None:
        a, b = await Node(A, ALL).start(), await Node(B, ALL).start()
        try:
            peer = await a.transport.connect(*b.addr)
            assert peer.key_id == B.key_id
            await until(lambda: A.key_id in b.transport.peers, what="b sees a")
            assert a.transport.try_send(B.key_id, {"type": "vote", "height": 1})
            assert await b.recv() == (A.key_id, {"type": "vote", "height": 1})
            await b.transport.send(A.key_id, {"type": "tx", "n": [1, 2, 3]}, timeout=1)
            assert await a.recv() == (B.key_id, {"type": "tx", "n": [1, 2, 3]})
            await until(lambda: peer.rtt is not None, what="a round-trip time")
            info = a.transport.peer_infos()[0]
            assert info.key_id == B.key_id and info.outbound
            assert 0 < info.rtt_ms < 1000 and info.msgs_out == 1 and info.msgs_in == 1
            with pytest.raises(KeyError):
                await a.transport.send(C.key_id, {})
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())


def test_three_nodes_mesh_with_one_connection_per_pair_and_broadcast() -> None:
    async def main() -> None:
        nodes = [await Node(k, ALL).start() for k in (A, B, C)]
        try:
            for n in nodes:  # everyone dials everyone: duplicates must be resolved
                for m in nodes:
                    if m is not n:
                        n.transport.add_peer(*m.addr)
            await until(lambda: all(len(n.transport.peers) == 2 for n in nodes), what="mesh")
            await asyncio.sleep(0.3)  # let duplicate resolution and redials settle
            assert all(len(n.transport.peers) == 2 for n in nodes)
            for n in nodes:  # both ends of each pair kept the same connection
                for kid, p in n.transport.peers.items():
                    other = next(m for m in nodes if m.keys.key_id == kid)
                    back = other.transport.peers[n.keys.key_id]
                    assert p.outbound != back.outbound
            for n in nodes:
                assert n.transport.broadcast({"from": n.keys.key_id[:8]}) == 2
            for n in nodes:
                got = {(await n.recv())[1]["from"] for _ in range(2)}
                assert got == {m.keys.key_id[:8] for m in nodes if m is not n}
        finally:
            for n in nodes:
                await n.transport.close()

    run(main())


def test_unknown_key_is_refused_both_ways() -> None:
    async def main() -> None:
        a = await Node(A, {B.key_id}).start()
        x = await Node(X, {A.key_id}).start()
        try:
            # X dials A: A refuses X's key after the handshake; X learns it before it counts A
            # as connected.
            with pytest.raises(PeerRefused) as refused:
                await x.transport.connect(*a.addr)
            assert refused.value.key_id == A.key_id
            assert a.transport.peers == {} and x.transport.peers == {} and x.events == []
            # A dials X: A refuses X's key during the handshake.
            with pytest.raises(HandshakeError) as info:
                await a.transport.connect(*x.addr)
            assert info.value.code == "unauthorized"
            assert a.transport.peers == {}
        finally:
            await a.transport.close()
            await x.transport.close()

    run(main())


def test_revoked_key_is_dropped_on_recheck() -> None:
    async def main() -> None:
        a, b = await Node(A, ALL).start(), await Node(B, ALL).start()
        try:
            await a.transport.connect(*b.addr)
            a.authorized = {C.key_id}
            assert await a.transport.recheck_authorization() == [B.key_id]
            assert a.transport.peers == {}
            assert "unauthorized" in a.reasons()
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())


async def _still_working(a: Node, b: Node, n: int) -> None:
    assert b.transport.try_send(A.key_id, {"alive": n})
    assert await a.recv() == (B.key_id, {"alive": n})


def test_garbage_connections_close_and_the_good_one_goes_on() -> None:
    async def main() -> None:
        a, b = await Node(A, ALL).start(), await Node(B, ALL).start()
        try:
            await b.transport.connect(*a.addr)
            await until(lambda: B.key_id in a.transport.peers)
            loop = asyncio.get_running_loop()
            for i, junk in enumerate(
                [
                    os.urandom(300),  # random bytes
                    b"\xff\xff\xff\xff",  # oversized length
                    b"\x00\x00\x00\x60" + b"\x01" * 20,  # half a frame, then silence
                    b"",  # connect and say nothing
                ]
            ):
                reader, writer = await asyncio.open_connection(*a.addr)
                writer.write(junk)
                t0 = loop.time()
                assert await closes_within(reader, FAST.handshake_timeout + 1.0), junk[:8]
                assert loop.time() - t0 < FAST.handshake_timeout + 1.0
                writer.close()
                await _still_working(a, b, i)
            assert list(a.transport.peers) == [B.key_id]
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        ("oversized", "oversized"),
        ("tampered", "decrypt_failed"),
        ("replayed", "decrypt_failed"),
        ("not_canonical", "bad_message:not_canonical"),
        ("float", "bad_message:float"),
        ("unknown_type", "unknown_type"),
        ("half_frame", "idle_timeout"),
        ("silence", "idle_timeout"),
    ],
)
def test_bad_frames_from_an_authenticated_peer_close_only_that_peer(attack: str, reason: str):
    async def main() -> None:
        a, b = await Node(A, ALL).start(), await Node(B, ALL).start()
        try:
            await b.transport.connect(*a.addr)
            reader, writer, ch = await raw_client(a.addr, C)
            await until(lambda: C.key_id in a.transport.peers)
            if attack == "oversized":
                writer.write((FAST.max_frame + 1).to_bytes(4, "big"))
            elif attack == "tampered":
                ch.send(bytes([T_MSG]) + canonical({"ok": 1}))
                frame = bytearray(ch.data_to_send())
                frame[-1] ^= 0x40
                writer.write(bytes(frame))
            elif attack == "replayed":
                ch.send(bytes([T_MSG]) + canonical({"pay": 1}))
                frame = ch.data_to_send()
                writer.write(frame + frame)
            elif attack == "not_canonical":
                ch.send(bytes([T_MSG]) + b'{"b": 1, "a": 2}')
                writer.write(ch.data_to_send())
            elif attack == "float":
                ch.send(bytes([T_MSG]) + b'{"a":1.5}')
                writer.write(ch.data_to_send())
            elif attack == "unknown_type":
                ch.send(b"\x07hello")
                writer.write(ch.data_to_send())
            elif attack == "half_frame":
                ch.send(bytes([T_MSG]) + canonical({"ok": 1}))
                writer.write(ch.data_to_send()[:10])
            assert await closes_within(reader, FAST.idle_timeout + 1.5)
            await until(lambda: reason in a.reasons(), what=f"close reason {reason}")
            if attack == "replayed":  # the original was delivered, its replay was not
                assert await a.recv() == (C.key_id, {"pay": 1})
            assert a.inbox.empty()
            assert list(a.transport.peers) == [B.key_id]
            await _still_working(a, b, 0)
            writer.close()
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())


def test_a_flood_triggers_the_rate_limit() -> None:
    async def main() -> None:
        config = PeerConfig(
            handshake_timeout=0.5, idle_timeout=2, ping_interval=0.5, msgs_per_s=100, msg_burst=50
        )
        a = await Node(A, ALL, config).start()
        b = await Node(B, ALL).start()
        try:
            await b.transport.connect(*a.addr)
            reader, writer, ch = await raw_client(a.addr, C)
            for i in range(500):
                ch.send(bytes([T_MSG]) + canonical({"spam": i}))
            writer.write(ch.data_to_send())
            assert await closes_within(reader, 2.0)
            await until(lambda: "rate_limited" in a.reasons(), what="rate limit")
            assert a.inbox.qsize() <= 60  # the burst got through, the rest did not
            while not a.inbox.empty():
                a.inbox.get_nowait()
            await _still_working(a, b, 0)
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())


def test_reconnect_after_the_other_side_restarts() -> None:
    async def main() -> None:
        a, b = await Node(A, ALL).start(), await Node(B, ALL).start()
        port = b.addr[1]
        try:
            a.transport.add_peer(*b.addr)
            await until(lambda: B.key_id in a.transport.peers, what="first connection")
            await b.transport.close()
            await until(lambda: B.key_id not in a.transport.peers, what="disconnect")
            b = await Node(B, ALL).start(port)
            await until(lambda: B.key_id in a.transport.peers, what="reconnection")
            await until(lambda: A.key_id in b.transport.peers)
            assert b.transport.try_send(A.key_id, {"back": True})
            assert await a.recv() == (B.key_id, {"back": True})
            assert [e[0] for e in a.events] == ["up", "down", "up"]
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())


def test_send_queue_drop_policy_and_back_pressure() -> None:
    async def main() -> None:
        config = PeerConfig(handshake_timeout=0.5, idle_timeout=5, ping_interval=1, send_queue=2)
        a = await Node(A, ALL, config).start()
        try:
            reader, writer, ch = await raw_client(a.addr, C)  # reads nothing
            await until(lambda: C.key_id in a.transport.peers)
            peer = a.transport.peers[C.key_id]
            # without yielding, the writer task cannot run: the third message is dropped
            assert peer.try_send({"n": 1}) and peer.try_send({"n": 2})
            assert not peer.try_send({"n": 3})
            assert peer.info().dropped == 1
            assert a.transport.broadcast({"n": 4}) == 0
            # a reader that never reads: socket buffers fill, then send() waits and times out
            big = {"blob": "x" * (1024 * 1024)}
            with pytest.raises(TimeoutError):
                for _ in range(200):
                    await peer.send(big, timeout=0.3)
            assert not peer.closed
            with pytest.raises(ValueError):
                peer.try_send({"blob": "x" * config.max_frame})
            writer.close()
        finally:
            await a.transport.close()

    run(main())


def test_handshake_for_another_chain_fails() -> None:
    async def main() -> None:
        a = await Node(A, ALL).start()
        other = await Node(B, ALL, chain="d" * 64).start()
        try:
            with pytest.raises(ConnectionError):
                await other.transport.connect(*a.addr)
            assert a.transport.peers == {}
        finally:
            await a.transport.close()
            await other.transport.close()

    run(main())


def test_server_survives_many_failed_handshakes() -> None:
    async def main() -> None:
        a, b = await Node(A, ALL).start(), await Node(B, ALL).start()
        try:
            for _ in range(20):
                _, writer = await asyncio.open_connection(*a.addr)
                writer.write(encode_frame(os.urandom(40)))
                writer.close()
                await writer.wait_closed()
            await b.transport.connect(*a.addr)
            await _still_working(a, b, 1)
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())


def test_a_node_that_refuses_us_is_redialled_with_growing_delays(caplog) -> None:
    async def main() -> None:
        x = await Node(X, set()).start()  # refuses everyone
        a = await Node(A, {X.key_id}, backoff=(0.1, 10.0)).start()
        try:
            with caplog.at_level(logging.INFO, logger="ledger_core.net"):
                a.transport.add_peer(*x.addr)
                await asyncio.sleep(1.5)
            refusals = [r for r in caplog.records if "failed: unauthorized" in r.getMessage()]
            # delays 0.05-0.1, 0.1-0.2, 0.2-0.4, 0.4-0.8 s: at most 5 dials in 1.5 s
            assert 2 <= len(refusals) <= 5, len(refusals)
            assert a.events == [] and a.transport.peers == {}
        finally:
            await a.transport.close()
            await x.transport.close()

    run(main())


def test_a_sender_waiting_for_room_is_released_when_the_peer_closes() -> None:
    async def main() -> None:
        config = PeerConfig(handshake_timeout=0.5, idle_timeout=5, ping_interval=1, send_queue=1)
        a = await Node(A, ALL, config).start()
        try:
            reader, writer, ch = await raw_client(a.addr, C)
            await until(lambda: C.key_id in a.transport.peers)
            peer = a.transport.peers[C.key_id]
            big = {"blob": "x" * (1024 * 1024)}
            with pytest.raises(TimeoutError):
                for _ in range(200):  # fill the socket buffers and the queue
                    await peer.send(big, timeout=0.3)
            waiting = asyncio.create_task(a.transport.send(C.key_id, big))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            await a.transport.disconnect(C.key_id, "test")
            with pytest.raises(ConnectionError):
                await asyncio.wait_for(waiting, 1.0)
            assert not peer.try_send({"late": 1})
            writer.close()
        finally:
            await a.transport.close()

    run(main())


def test_config_is_checked() -> None:
    with pytest.raises(ValueError):
        PeerConfig(ping_interval=5, idle_timeout=5)
    with pytest.raises(ValueError):
        PeerConfig(send_queue=0)


def test_an_honest_fast_sender_paces_itself_below_the_rate_limit() -> None:
    async def main() -> None:
        config = PeerConfig(
            handshake_timeout=1, idle_timeout=5, ping_interval=1, msgs_per_s=500, msg_burst=50
        )
        a, b = await Node(A, ALL, config).start(), await Node(B, ALL, config).start()
        try:
            peer = await a.transport.connect(*b.addr)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            for i in range(300):
                await peer.send({"i": i})
            got = [(await b.recv())[1]["i"] for _ in range(300)]
            assert got == list(range(300))
            assert loop.time() - t0 >= (300 - 50) / 500  # it really was paced
            assert b.reasons() == [] and A.key_id in b.transport.peers
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())


def test_a_connection_storm_is_refused_before_any_key_exchange() -> None:
    async def main() -> None:
        # burst of 10; the handshake caps (per address and in all) set high to see the rate alone
        a = await Node(
            A, ALL, handshakes_per_s=5.0, max_pending=32, max_pending_per_address=16
        ).start()
        b = await Node(B, ALL).start()
        try:
            conns = [await asyncio.open_connection(*a.addr) for _ in range(30)]
            quick = await asyncio.gather(*(closes_within(r, 0.3) for r, _ in conns))
            assert 10 <= sum(quick) <= 20  # the 10 admitted ones wait for their handshake
            for _, w in conns:
                w.close()
            await asyncio.sleep(0.3)  # tokens come back at 5 per second
            await b.transport.connect(*a.addr)
            await _still_working(a, b, 0)
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())
