"""The consortium block producer: the peer Transport, the reactors and the router, composed.

Replaces `SingleValidatorProducer` for a chain with several validators. `ConsensusProducer`
opens the authenticated `Transport` (canonical JSON messages `{"t": ...}`), routes each peer
message by type (`router`) to the reactor that owns it, and runs one tick loop on the same
asyncio loop:

* `consensus_reactor` (`cons`): Tendermint, signing, deciding and committing heights;
* `tx_gossip` (`txs`): mempool gossip;
* `block_sync` (`status`, `get_blocks`, `blocks`): heads, serving and fetching blocks;
* `evidence_gossip` (`evidence`): double-sign evidence.

They share, explicitly, the node (chain + mempool), the `PeerLink`, the `TaskGroup` (a failed
task stops the node with its error) and the commit lock (consensus and block sync never apply
at once). Every `status_s` the tick announces our head, asks ahead peers for blocks and tells
discovery the height.

The router scores a peer whose message makes a handler fail, and the reactors score what they
find (`PeerLink.penalize`); the Transport bans a key past the threshold, and `status()` lists the
bans in force (who, why, since when). mDNS announcements are not authenticated: only keys of
active nodes are dialled, within the Transport's cap for discovered peers, and a key's dial
loops end when its service goes away or the key stops being an active node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger_core.consensus import TimeoutConfig
from ledger_core.crypto.keys import KeyPair
from ledger_core.net import transport as tp
from ledger_core.node.block_sync import BlockSync
from ledger_core.node.consensus_reactor import ConsensusReactor, validator_set
from ledger_core.node.evidence_gossip import EvidenceGossip
from ledger_core.node.ledger_node import Node
from ledger_core.node.router import Router
from ledger_core.node.runtime import PeerLink, Shared, TaskGroup
from ledger_core.node.tx_gossip import TxGossip

log = logging.getLogger("bcmlp.consensus")
TICK_S = 0.1


class ConsensusProducer:
    """Network + consensus + sync for one node (the `BlockProducer` of `Node.run`)."""

    def __init__(
        self,
        node: Node,
        keys: KeyPair,
        data_dir: Path,
        *,
        listen: tuple[str, int] = ("127.0.0.1", 0),
        peers: list[tuple[str, int]] | None = None,
        discovery: Callable[[int, Callable[[Any], Any], Callable[[Any], Any]], Any] | None = None,
        timeouts: TimeoutConfig | None = None,
        heartbeat_s: float = 1.0,
        gossip_s: float = 1.0,
        status_s: float = 0.5,
    ) -> None:
        self.node = node
        self.chain = node.chain
        self.keys = keys
        self.data_dir = Path(data_dir)
        self.listen = listen
        self.static_peers = list(peers or [])
        self.discovery_factory = discovery
        self.discovery: Any = None
        self.status_s = status_s
        self.address: tuple[str, int] | None = None
        self.link = PeerLink()
        self.tasks = TaskGroup()
        shared = Shared(node, self.link, self.tasks, asyncio.Lock())
        self.evidence = EvidenceGossip(shared, self.data_dir, lambda: validator_set(self.chain))
        self.sync = BlockSync(shared, on_head_moved=self._head_moved)
        self.consensus = ConsensusReactor(
            shared, keys, self.data_dir,
            timeouts=timeouts, heartbeat_s=heartbeat_s, gossip_s=gossip_s,
            announce=self.sync.announce, on_evidence=self.evidence.keep,
        )
        self.txs = TxGossip(
            shared,
            relays=lambda: not self.consensus.is_validator(),
            after=self.consensus.maybe_start_next,
        )
        self.router = Router(penalize=self.link.penalize)
        for reactor in (self.consensus, self.txs, self.sync, self.evidence):
            self.router.add(reactor.routes())

    @property
    def transport(self) -> tp.Transport | None:
        return self.link.transport

    def _head_moved(self) -> None:
        self.consensus.head_moved()

    def _authorized(self, kid: str) -> bool:
        p = self.chain.state.tables["participant"].get(kid)
        return p is not None and p["status"] == "active" and p["kind"] == "node"

    def _on_found(self, ann: Any) -> None:
        transport = self.link.transport
        if (
            transport is None
            or ann.key_id == self.keys.key_id
            or not ann.addresses
            or not self._authorized(ann.key_id)
            or transport.is_banned(ann.key_id)
        ):
            return
        transport.add_peer(*ann.addresses[0], ann.key_id, discovered=True)

    def _on_removed(self, ann: Any) -> None:
        if self.link.transport is not None:
            self.link.transport.remove_peers_of(ann.key_id)

    def _who(self, kid: str) -> dict[str, Any]:
        p = self.chain.state.tables["participant"].get(kid) or {}
        return {"key_id": kid, "org": p.get("org"), "name": p.get("name")}

    def status(self) -> dict[str, Any]:
        """The node's network part of the control socket's `status` answer (for the GUI)."""
        vals = self.chain.state.validators()
        peers = self.link.transport.peer_infos() if self.link.transport else []
        heights = self.sync.peer_heights
        return {
            "role": "validator" if self.keys.key_id in vals else "full",
            "p2p_address": list(self.address) if self.address else None,
            **self.consensus.status(),
            "validator_set": [self._who(kid) for kid in vals],
            "peers": [
                {**self._who(p.key_id), "host": p.host, "port": p.port, "outbound": p.outbound,
                 "rtt_us": None if p.rtt_ms is None else round(p.rtt_ms * 1000),
                 "height": heights.get(p.key_id)}
                for p in peers
            ],
            "bans": self._bans(),
            "evidence": len(self.evidence.pool),
            "double_signers": sorted({ev.validator for ev in self.evidence.pool}),
            "synced_blocks": self.sync.synced_blocks,
        }

    def _bans(self) -> list[dict[str, Any]]:
        if self.link.transport is None:
            return []
        return [
            {**self._who(b.key_id), "reason": b.reason, "detail": b.detail,
             "since_ms": round(b.since * 1000), "until_ms": round(b.until * 1000),
             "offences": b.offences}
            for b in self.link.transport.bans()
        ]

    def stop(self) -> None:
        self.tasks.stop()

    async def _tick(self) -> None:
        stopping = self.tasks.stopping
        last_status = 0.0
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), TICK_S)
            now = time.monotonic()
            self.consensus.tick(now, self.sync.idle)
            if now - last_status >= self.status_s:
                last_status = now
                self.sync.announce()
                self.sync.maybe_fetch()
                if self.discovery is not None:
                    with contextlib.suppress(Exception):
                        await self.discovery.set_height(self.chain.height)

    async def run(self) -> None:
        transport = tp.Transport(
            self.keys, self.chain.chain_id, self._authorized,
            on_message=self.router.dispatch, on_peer_connected=self.sync.on_peer_connected,
        )
        self.link.transport = transport
        try:
            self.address = await transport.listen(*self.listen)
            (self.data_dir / "p2p.addr").write_text(f"{self.address[0]}:{self.address[1]}\n")
            log.info("p2p listening on %s:%d as %s (%s)", *self.address, self.keys.key_id[:16],
                     "validator" if self.consensus.is_validator() else "full node")
            # Start the first height before anything awaits: a peer may connect as soon as we
            # listen, and block sync must find consensus at the current height, not start it twice.
            self.node.on_admitted.append(self.txs.queue)
            self.node.status_extra = self.status
            self.consensus.start_next_height()
            for host, port in self.static_peers:
                transport.add_peer(host, port)
            if self.discovery_factory is not None:
                self.discovery = self.discovery_factory(
                    self.address[1], self._on_found, self._on_removed)
                await self.discovery.start()
            await self._tick()
            if self.tasks.failure is not None:
                raise self.tasks.failure
        finally:
            await self.tasks.close()
            if self.discovery is not None:
                with contextlib.suppress(Exception):
                    await self.discovery.close()
            await transport.close()
            self.sync.close()
