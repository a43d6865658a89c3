"""The hostile scenarios, one class per name (`SCENARIOS`); see `hooks.Scenario` for the points
they use. Each one keeps every signature valid and makes the content hostile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from app.hostile import forge, payloads
from app.hostile.hooks import Scenario
from ledger_core.chain.block import MAX_BLOCK_BYTES
from ledger_core.consensus import Value
from ledger_core.consensus.messages import MessageError, from_wire
from ledger_core.net.peer import T_PING, PeerConfig
from ledger_core.node.clock import now_ms
from ledger_core.node.router import Handler
from ledger_core.node.sync_items import read_batch

log = logging.getLogger("bcmlp.hostile")
ABSURD_HEIGHTS = (2**62, 2**63 - 1, 10**15)


def _value(scn: Scenario, block: Any, result: Any) -> Value:
    scn.p.consensus._built[block.id] = (block, result)  # our own proposal passes our `valid`
    return Value(block.id, block.to_obj())


class SyncPoison(Scenario):
    """Announce height 2**62; answer every get_blocks with one item whose block holds a signed
    `member.propose` whose payload.action is a list (then an object, a huge int, deep nesting),
    as an object item and as a text item in turn."""

    name = "sync_poison"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.answers = 0

    def outgoing(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        return {"t": "status", "height": 2**62} if msg.get("t") == "status" else msg

    def on_connected(self, peer: Any, honest: Callable[[Any], Any]) -> Any:
        peer.try_send({"t": "status", "height": 2**62})

    def routes(self) -> dict[str, Handler]:
        return {"get_blocks": self.on_get_blocks}

    def on_get_blocks(self, kid: str, msg: dict[str, Any]) -> None:
        start = msg.get("from")
        height = start if type(start) is int and 1 <= start < 2**62 else self.p.chain.height + 1
        i = self.answers
        self.answers += 1
        action = forge.POISON_ACTIONS[i % len(forge.POISON_ACTIONS)]
        item: Any = forge.poison_item(self.p.chain, self.p.keys, height, action)
        if (i // len(forge.POISON_ACTIONS)) % 2:
            item = json.dumps(item, separators=(",", ":"), sort_keys=True)
        self.send(kid, {"t": "blocks", "blocks": [item]})


class TimeJump(Scenario):
    """As proposer: blocks stamped 2**62 - 1, 2**62 and the year 3000, in turn."""

    name = "time_jump"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.proposals = 0

    def propose(self, height: int) -> Value | None:
        t = forge.HOSTILE_TIMES[self.proposals % len(forge.HOSTILE_TIMES)]
        self.proposals += 1
        block, result = forge.build_block(
            self.p.chain, self.p.node.candidates(), self.p.keys.key_id, t)
        log.warning("proposing height %d stamped %d", height, t)
        return _value(self, block, result)


class OversizedBlock(Scenario):
    """As proposer: a valid block above `MAX_BLOCK_BYTES` (that still fits one frame). All the
    time: admits worst-case-size transactions of its key (notes of `"` and `\\`) to its
    mempool, so they gossip and honest proposers build the largest blocks they may."""

    name = "oversized_block"
    GOSSIP = 3000  # worst-case transactions kept pending at a time

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self._fillers: tuple[int, list[Any]] = (0, [])

    def fillers(self) -> list[Any]:
        first = self.p.chain.state.nonce(self.p.keys.key_id) + 1
        if self._fillers[0] != first:
            self._fillers = (first, forge.filler_txs(self.p.chain, self.p.keys, first, 3200))
        return self._fillers[1]

    def target(self) -> int:
        room = PeerConfig().max_message - 64 * 1024
        return max(min(MAX_BLOCK_BYTES + 100_000, room), 100_000)

    def propose(self, height: int) -> Value | None:
        block, result = forge.oversized(
            self.p.chain, self.p.keys, self.fillers(), self.target(),
            max(now_ms(), self.p.chain.state.last_time + 1))
        log.warning("proposing height %d: %d bytes", height, block.encoded_size())
        return _value(self, block, result)

    async def run(self) -> None:
        while True:
            if len(self.p.node.mempool) >= self.GOSSIP:
                await asyncio.sleep(0.5)
                continue
            pending = self.p.node.mempool.pending_nonce(self.p.keys.key_id)
            first = max(pending or 0, self.p.chain.state.nonce(self.p.keys.key_id)) + 1
            batch = forge.filler_txs(self.p.chain, self.p.keys, first, 500)
            admitted = sum(1 for tx in batch if self.p.node.admit(tx.envelope())[1])
            await asyncio.sleep(0.05 if admitted else 1.0)


class PreauthFlood(Scenario):
    """Many raw TCP connections to every peer address, silent, reopened when closed (needs no
    key: the honest nodes cannot tell who it is)."""

    name = "preauth_flood"
    by_key = False
    SOCKETS = 100

    async def run(self) -> None:
        addrs = list(self.p.static_peers)
        await asyncio.gather(*(self._hold(h, port) for h, port in addrs for _ in range(self.SOCKETS)))

    async def _hold(self, host: str, port: int) -> None:
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            try:
                while await reader.read(4096):
                    pass
            except OSError:
                pass
            finally:
                writer.close()
            await asyncio.sleep(0.05)


class NeverReads(Scenario):
    """Authenticates, then stops reading every connection while it keeps pinging and asking
    for all the blocks there are: the victim's sends pile up on our side of its socket."""

    name = "never_reads"

    def on_connected(self, peer: Any, honest: Callable[[Any], Any]) -> Any:
        honest(peer)
        peer._writer.transport.pause_reading()
        for task in peer._tasks[2:]:  # our keep-alive would close the silent connection
            task.cancel()
        peer._tasks.append(asyncio.get_running_loop().create_task(self._ping(peer)))

    async def _ping(self, peer: Any) -> None:
        while not peer.closed:
            peer._queue.put_control(bytes([T_PING]) + os.urandom(8))
            peer.try_send({"t": "get_blocks", "from": 1, "limit": 10**6})
            await asyncio.sleep(2.0)


class TxFlood(Scenario):
    """Valid transactions of its own key, signed and sent to every peer as fast as it can."""

    name = "tx_flood"
    BATCH = 500

    async def run(self) -> None:
        nonce = self.p.chain.state.nonce(self.p.keys.key_id) + 1
        while True:
            batch = forge.filler_txs(self.p.chain, self.p.keys, nonce, self.BATCH, note="flood")
            nonce += self.BATCH
            msg = {"t": "txs", "txs": [tx.envelope() for tx in batch]}
            for kid in self.peers():
                with contextlib.suppress(KeyError, ConnectionError, TimeoutError):
                    await self.p.link.transport.send(kid, msg, timeout=5)  # type: ignore[union-attr]
            await asyncio.sleep(0)


class StatusAhead(Scenario):
    """Announces absurd heights and answers get_blocks with garbage, nothing, or blocks of the
    wrong heights."""

    name = "status_ahead"

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.answers = 0

    def _status(self) -> dict[str, Any]:
        return {"t": "status", "height": self.rng.choice(ABSURD_HEIGHTS)}

    def outgoing(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        return self._status() if msg.get("t") == "status" else msg

    def on_connected(self, peer: Any, honest: Callable[[Any], Any]) -> Any:
        peer.try_send(self._status())

    def routes(self) -> dict[str, Handler]:
        return {"get_blocks": self.on_get_blocks}

    def _answers(self, start: int) -> list[Any]:
        store = self.p.chain.store
        real = [json.loads(i) for i in read_batch(store, 1, 3)] if self.p.chain.height else []
        ahead = forge.poison_item(self.p.chain, self.p.keys, start + 1000, "add_validator")
        return [[], ["garbage"], [None], [{"x": 1}], real, [ahead], [{}] * 500,
                ['{"block":'], [real[-1]] * 3 if real else [5]]

    def on_get_blocks(self, kid: str, msg: dict[str, Any]) -> None:
        start = msg.get("from")
        start = start if type(start) is int and 0 < start < 2**61 else 1
        options = self._answers(start)
        self.send(kid, {"t": "blocks", "blocks": options[self.answers % len(options)]})
        self.answers += 1


class Equivocation(Scenario):
    """Every proposal and vote it signs gets a twin for another block at the same height,
    round and step; half the peers get one first, half the other (everyone sees both)."""

    name = "equivocation"

    def outgoing(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        if msg.get("t") != "cons" or msg["m"].get("validator") != self.p.keys.key_id:
            return msg
        try:
            m = from_wire(msg["m"], self.p.chain.chain_id)
        except MessageError:
            return msg
        if m.type == "proposal":
            block, result = forge.build_block(
                self.p.chain, self.p.node.candidates(), self.p.keys.key_id,
                max(now_ms(), self.p.chain.state.last_time + 1) + 1)
            other = forge.twin(m, self.p.keys, block.id, block.to_obj())
        else:
            bid = payloads.hex_str(self.rng, 64)
            other = forge.twin(m, self.p.keys, self.rng.choice((None, bid)) if m.block_id else bid)
        second = {"t": "cons", "m": other.to_wire()}
        peers = self.peers()
        for i, kid in enumerate(peers):
            for out in ((msg, second) if i % 2 else (second, msg)):
                self.send(kid, out)
        return None


class Fuzz(Scenario):
    """Every message type with hostile content from `payloads`, to random peers, and fuzzed
    answers to get_blocks."""

    name = "fuzz"
    PER_S = 100

    def ctx(self) -> payloads.Context:
        ctx = forge.context(self.p.chain, self.p.keys)
        ctx.round = self.p.consensus.sm.round
        return ctx

    def routes(self) -> dict[str, Handler]:
        return {"get_blocks": self.on_get_blocks}

    def on_get_blocks(self, kid: str, msg: dict[str, Any]) -> None:
        self.send(kid, payloads.message_of("blocks", self.rng, self.ctx()))

    async def run(self) -> None:
        while True:
            peers = self.peers()
            if peers:
                self.send(self.rng.choice(peers), payloads.message(self.rng, self.ctx()))
            await asyncio.sleep(1 / self.PER_S)


SCENARIOS: dict[str, type[Scenario]] = {
    cls.name: cls
    for cls in (Scenario, SyncPoison, TimeJump, OversizedBlock, PreauthFlood, NeverReads,
                TxFlood, StatusAhead, Equivocation, Fuzz)
}
