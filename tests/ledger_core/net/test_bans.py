"""Penalties and bans in the transport: who gets banned for what, and what a ban does."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bedrock.canonical import canonical
from ledger_core.net.handshake import HandshakeError
from ledger_core.net.peer import T_MSG, PeerRefused
from ledger_core.net.peer_score import FATAL, MINOR, SERIOUS, BanBook
from ledger_core.net.transport import Transport
from tests.support.netutil import CHAIN, FAST, Node, closes_within, keys, raw_client, until

A, B, C = keys(1), keys(2), keys(3)
ALL = {A.key_id, B.key_id, C.key_id}


def run(coro, timeout: float = 20.0):
    async def main():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


def test_points_add_up_to_a_ban_that_closes_the_peer_and_is_listed(caplog) -> None:
    async def main() -> None:
        a, b = await Node(A, ALL).start(), await Node(B, ALL).start()
        try:
            await b.transport.connect(*a.addr)
            await until(lambda: B.key_id in a.transport.peers)
            with caplog.at_level(logging.WARNING, logger="ledger_core.net"):
                assert a.transport.penalize(B.key_id, "bad_vote", SERIOUS) is False
                assert not a.transport.is_banned(B.key_id) and a.transport.bans() == []
                assert B.key_id in a.transport.peers
                assert a.transport.penalize(B.key_id, "bad_vote", SERIOUS, "round 3") is True
            warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
            assert any(B.key_id[:16] in m and "bad_vote" in m for m in warnings), warnings
            await until(lambda: B.key_id not in a.transport.peers, what="banned peer closed")
            assert a.reasons() == ["banned: bad_vote"]
            assert a.transport.is_banned(B.key_id)
            [ban] = a.transport.bans()
            assert (ban.key_id, ban.reason, ban.detail, ban.offences) == (
                B.key_id,
                "bad_vote",
                "round 3",
                1,
            )
            assert ban.until - ban.since == 60
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())


def test_a_banned_key_is_refused_at_the_handshake_both_ways() -> None:
    async def main() -> None:
        a, b = await Node(A, ALL).start(), await Node(B, ALL).start()
        try:
            assert a.transport.penalize(B.key_id, "bad_block", FATAL)
            with pytest.raises(PeerRefused):  # b dials a: a refuses b's key
                await b.transport.connect(*a.addr)
            with pytest.raises(HandshakeError) as refused:  # a dials b: a refuses b's key
                await a.transport.connect(*b.addr)
            assert refused.value.code == "banned"
            with pytest.raises(HandshakeError):  # known key: not even dialled
                await a.transport.connect(*b.addr, expected_key_id=B.key_id)
            assert a.transport.peers == {} and b.transport.peers == {}
            assert a.transport.is_authorized(B.key_id)  # membership is unchanged
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())


@pytest.mark.parametrize(
    ("attack", "banned"),
    [
        ("not_canonical", True),
        ("unknown_type", True),
        ("oversized", True),
        ("tampered", True),
        ("silence", False),  # idle_timeout: maybe a slow network, no penalty
        ("eof", False),
    ],
)
def test_a_protocol_violation_bans_the_key_and_it_cannot_come_back(attack, banned) -> None:
    async def main() -> None:
        a = await Node(A, ALL).start()
        try:
            reader, writer, ch = await raw_client(a.addr, C)
            await until(lambda: C.key_id in a.transport.peers)
            if attack == "not_canonical":
                ch.send(bytes([T_MSG]) + b'{"b": 1, "a": 2}')
            elif attack == "unknown_type":
                ch.send(b"\x07hello")
            elif attack == "tampered":
                ch.send(bytes([T_MSG]) + canonical({"ok": 1}))
            data = ch.data_to_send()
            if attack == "oversized":
                data = (FAST.max_frame + 1).to_bytes(4, "big")
            elif attack == "tampered":
                data = data[:-1] + bytes([data[-1] ^ 1])
            writer.write(data)
            if attack == "eof":
                writer.close()
            else:
                assert await closes_within(reader, FAST.idle_timeout + 1.5)
            await until(lambda: C.key_id not in a.transport.peers, what="peer closed")
            assert a.transport.is_banned(C.key_id) is banned
            if banned:
                [ban] = a.transport.bans()
                assert ban.key_id == C.key_id and ban.reason == a.reasons()[0]
            # and it tries to come back
            reader, writer, _ = await raw_client(a.addr, C)
            if banned:
                assert await closes_within(reader, 1.0)
                assert C.key_id not in a.transport.peers
            else:
                await until(lambda: C.key_id in a.transport.peers, what="reconnection")
            writer.close()
        finally:
            await a.transport.close()

    run(main())


def test_a_dial_loop_waits_until_the_ban_ends() -> None:
    async def main() -> None:
        a = await Node(A, ALL, ban_book=BanBook(ban_base_s=0.8)).start()
        b = await Node(B, ALL).start()
        try:
            a.transport.add_peer(*b.addr, B.key_id)
            await until(lambda: B.key_id in a.transport.peers, what="first connection")
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            assert a.transport.penalize(B.key_id, "bad_block", FATAL)
            await until(lambda: B.key_id not in a.transport.peers, what="ban")
            await asyncio.sleep(0.5)
            assert B.key_id not in a.transport.peers
            assert [e[0] for e in b.events] == ["up", "down"]  # no dial attempt reached b
            await until(lambda: B.key_id in a.transport.peers, timeout=3.0, what="redial")
            assert loop.time() - t0 >= 0.8
            assert not a.transport.is_banned(B.key_id) and a.transport.bans() == []
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())


def test_write_timeouts_cost_a_minor_penalty_only() -> None:
    async def main() -> None:
        a, b = await Node(A, ALL).start(), await Node(B, ALL).start()
        try:
            for _ in range(9):
                assert not a.transport.penalize(B.key_id, "write_timeout", MINOR)
            assert not a.transport.is_banned(B.key_id)
            await b.transport.connect(*a.addr)  # 90 points do not keep it out
            await until(lambda: B.key_id in a.transport.peers)
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())


def test_penalize_never_raises() -> None:
    async def main() -> None:
        a = await Node(A, ALL).start()
        try:
            assert a.transport.penalize(None, "x", FATAL) is False  # type: ignore[arg-type]
            assert a.transport.penalize(B.key_id, "x", -5) is False
        finally:
            await a.transport.close()

    run(main())


def test_a_failing_local_handler_keeps_the_peer_and_the_log_names_it(caplog) -> None:
    async def main() -> None:
        got: list[object] = []

        def handler(kid: str, message: object) -> None:
            got.append(message)
            if message == {"boom": 1}:
                raise RuntimeError("local bug")

        a = Transport(A, CHAIN, lambda kid: True, on_message=handler, config=FAST)
        b = await Node(B, ALL).start()
        try:
            await a.connect(*b.addr)
            await until(lambda: A.key_id in b.transport.peers)
            with caplog.at_level(logging.ERROR, logger="ledger_core.net"):
                assert b.transport.try_send(A.key_id, {"boom": 1})
                assert b.transport.try_send(A.key_id, {"fine": 2})
                await until(lambda: len(got) == 2, what="both messages")
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert errors and all(B.key_id[:16] in r.getMessage() for r in errors)
            assert B.key_id in a.peers and not a.is_banned(B.key_id)
        finally:
            await a.close()
            await b.transport.close()

    run(main())
