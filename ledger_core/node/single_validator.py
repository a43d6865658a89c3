"""The dev chain's block producer: this node is the only validator and signs every commit.

It builds a block whenever transactions are pending, or an empty heartbeat block after
`heartbeat_s` of quiet; the block is built, signed and persisted in a worker thread so the
control socket keeps admitting transactions meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from ledger_core.chain.block import Block, sign_commit
from ledger_core.chain.state import BlockResult
from ledger_core.node.clock import now_ms

if TYPE_CHECKING:
    from ledger_core.node.ledger_node import Node


class SingleValidatorProducer:
    """`Node.run`'s producer when none is given (see module docstring)."""

    def __init__(self, node: Node, heartbeat_s: float) -> None:
        self.node = node
        self.heartbeat_s = heartbeat_s
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True
        self.node.wake.set()

    async def run(self) -> None:
        node = self.node
        last = time.monotonic()
        while not self._stopping:
            node.wake.clear()
            if not len(node.mempool):
                remaining = self.heartbeat_s - (time.monotonic() - last)
                if remaining > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(node.wake.wait(), remaining)
                    continue
            await self.produce_one()
            last = time.monotonic()

    async def produce_one(self) -> None:
        node = self.node
        chain = node.chain
        candidates = node.candidates()

        def build() -> tuple[Block, dict[str, Any], BlockResult, dict[str, bytes]]:
            block, result = chain.propose(candidates, node.signer.key_id, now_ms())
            commit = sign_commit([node.signer], chain.chain_id, block.height, 0, block.id)
            return block, commit, result, chain.persist(block, commit, result)

        block, commit, result, signers = await asyncio.to_thread(build)
        node.apply_decided(block, commit, result, signers)
