"""Zeroconf discovery on 127.0.0.1 only (never multicast on the default interfaces in tests).

Every test uses fresh keys and chain ids, so runs in parallel (xdist, other checkouts on the same
machine) see each other's services only as other chains.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from zeroconf import IPVersion

from ledger_core.crypto.keys import KeyPair
from ledger_core.net.discovery import Announcement, Discovery, parse_txt
from tests.support.netutil import Node, until

LOOPBACK = {"interfaces": ["127.0.0.1"], "ip_version": IPVersion.V4Only}


def new_chain() -> str:
    return os.urandom(32).hex()


class Seen:
    def __init__(self) -> None:
        self.found: dict[str, Announcement] = {}
        self.removed: list[str] = []

    def on_found(self, ann: Announcement) -> None:
        self.found[ann.key_id] = ann

    def on_removed(self, ann: Announcement) -> None:
        self.removed.append(ann.key_id)
        self.found.pop(ann.key_id, None)


def make(chain: str, key_id: str, port: int, seen: Seen) -> Discovery:
    return Discovery(
        chain,
        key_id,
        port,
        height=port - 7000,
        on_found=seen.on_found,
        on_removed=seen.on_removed,
        **LOOPBACK,
    )


def test_peers_of_one_chain_find_each_other_and_ignore_other_chains() -> None:
    async def main() -> None:
        sa, sb, sc = Seen(), Seen(), Seen()
        chain_1, chain_2 = new_chain(), new_chain()
        ka, kb, kc = (KeyPair.generate().key_id for _ in range(3))
        a, b = make(chain_1, ka, 7001, sa), make(chain_1, kb, 7002, sb)
        c = make(chain_2, kc, 7003, sc)
        await asyncio.gather(a.start(), b.start(), c.start())
        try:
            await until(lambda: kb in sa.found and ka in sb.found, 10, "a and b to meet")
            assert sa.found[kb].addresses == (("127.0.0.1", 7002),)
            assert sa.found[kb].height == 2 and sa.found[kb].chain_id == chain_1
            assert sb.found[ka].addresses == (("127.0.0.1", 7001),)
            # the other chain and the node itself are ignored
            await until(lambda: c.instance in a.ignored and a.instance in c.ignored, 10, "c seen")
            assert a.ignored[c.instance] == "other_chain"
            assert set(sa.found) == {kb} and set(sb.found) == {ka} and sc.found == {}
            await b.set_height(42)
            await until(lambda: sa.found[kb].height == 42, 10, "the new height")
            await b.close()
            await until(lambda: kb in sa.removed, 10, "b's goodbye")
            assert kb not in sa.found and kc not in sa.removed
        finally:
            await asyncio.gather(a.close(), b.close(), c.close())

    asyncio.run(asyncio.wait_for(main(), 30))


@pytest.mark.parametrize(
    ("props", "ok"),
    [
        ({"v": "1", "chain": "ab", "key": "0" * 64, "height": "5"}, True),
        ({"v": "2", "chain": "ab", "key": "0" * 64, "height": "5"}, False),
        ({"v": "1", "chain": "AB", "key": "0" * 64, "height": "5"}, False),
        ({"v": "1", "chain": "ab", "key": "0" * 63, "height": "5"}, False),
        ({"v": "1", "chain": "ab", "key": "0" * 64, "height": "-5"}, False),
        ({"v": "1", "chain": "ab", "key": "0" * 64, "height": None}, False),
        ({"v": "1", "chain": "ab", "key": "0" * 64, "height": "9" * 30}, False),
        ({"v": "1", "key": "0" * 64, "height": "1"}, False),
    ],
)
def test_txt_records_are_checked(props, ok) -> None:
    assert (parse_txt(props) is not None) is ok


def test_bad_ids_are_refused() -> None:
    with pytest.raises(ValueError):
        Discovery("not hex", KeyPair.generate().key_id, 1, on_found=print, **LOOPBACK)


def test_discovered_peers_get_connected() -> None:
    """The wiring the node uses: on_found -> Transport.add_peer with the announced key id."""

    async def main() -> None:
        ka, kb = KeyPair.generate(), KeyPair.generate()
        allowed = {ka.key_id, kb.key_id}
        chain = new_chain()
        na = await Node(ka, allowed, chain=chain).start()
        nb = await Node(kb, allowed, chain=chain).start()

        def wire(node: Node):
            return lambda ann: node.transport.add_peer(*ann.addresses[0], ann.key_id)

        da = Discovery(chain, ka.key_id, na.addr[1], on_found=wire(na), **LOOPBACK)
        db = Discovery(chain, kb.key_id, nb.addr[1], on_found=wire(nb), **LOOPBACK)
        await asyncio.gather(da.start(), db.start())
        try:
            await until(
                lambda: kb.key_id in na.transport.peers and ka.key_id in nb.transport.peers,
                10,
                "the discovered peers to connect",
            )
            assert na.transport.broadcast({"hello": 1}) == 1
            assert await nb.recv() == (ka.key_id, {"hello": 1})
        finally:
            await asyncio.gather(da.close(), db.close())
            await na.transport.close()
            await nb.transport.close()

    asyncio.run(asyncio.wait_for(main(), 30))
