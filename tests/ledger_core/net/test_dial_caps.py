"""Dial loops: discovered (unauthenticated) entries are capped, and removable by key id."""

from __future__ import annotations

import asyncio
import logging
import socket

from tests.support.netutil import Node, keys, until

A, B = keys(1), keys(2)
OTHERS = [keys(10 + i) for i in range(8)]
ALL = {A.key_id, B.key_id} | {k.key_id for k in OTHERS}


def run(coro, timeout: float = 20.0):
    async def main():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


def _closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (dials fail at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_discovered_entries_are_capped_and_static_ones_are_not(caplog) -> None:
    async def main() -> None:
        a = Node(A, ALL, backoff=(5.0, 10.0), max_discovered_dialers=3)
        try:
            with caplog.at_level(logging.WARNING, logger="ledger_core.net"):
                added = [
                    a.transport.add_peer("127.0.0.1", 40000 + i, k.key_id, discovered=True)
                    for i, k in enumerate(OTHERS[:5])
                ]
            assert added == [True, True, True, False, False]
            assert sum("ignoring discovered peer" in r.getMessage() for r in caplog.records) == 2
            assert all(a.transport.add_peer("127.0.0.1", 41000 + i) for i in range(5))
            # the same address again is not a new entry
            assert not a.transport.add_peer("127.0.0.1", 40000, OTHERS[0].key_id, discovered=True)
        finally:
            await a.transport.close()

    run(main())


def test_discovered_entries_need_an_authorized_key_other_than_ours() -> None:
    async def main() -> None:
        a = Node(A, ALL, backoff=(5.0, 10.0))
        try:
            stranger = keys(99).key_id
            assert not a.transport.add_peer("127.0.0.1", 40001, stranger, discovered=True)
            assert not a.transport.add_peer("127.0.0.1", 40002, A.key_id, discovered=True)
            assert a.transport.add_peer("127.0.0.1", 40003, B.key_id, discovered=True)
            # one key announced at many addresses keeps only its two newest
            for port in range(40004, 40010):
                assert a.transport.add_peer("127.0.0.1", port, B.key_id, discovered=True)
            assert a.transport.remove_peers_of(B.key_id) == 2
        finally:
            await a.transport.close()

    run(main())


def test_remove_peers_of_stops_every_dial_loop_of_that_key_only() -> None:
    async def main() -> None:
        a = await Node(A, ALL, backoff=(0.05, 0.1)).start()
        b = await Node(B, ALL).start()
        try:
            a.transport.add_peer(*b.addr, B.key_id, discovered=True)
            a.transport.add_peer("127.0.0.1", _closed_port(), B.key_id, discovered=True)
            a.transport.add_peer("127.0.0.1", _closed_port())  # static: no key id
            await until(lambda: B.key_id in a.transport.peers, what="connection")
            assert a.transport.remove_peers_of(B.key_id) == 2
            assert a.transport.remove_peers_of(B.key_id) == 0
            assert B.key_id in a.transport.peers  # the connection itself stays
            await b.transport.disconnect(A.key_id, "restart")
            await until(lambda: B.key_id not in a.transport.peers)
            await asyncio.sleep(0.5)  # the loop would have redialled within 0.1 s
            assert B.key_id not in a.transport.peers
            assert [e[0] for e in b.events] == ["up", "down"]
        finally:
            await a.transport.close()
            await b.transport.close()

    run(main())
