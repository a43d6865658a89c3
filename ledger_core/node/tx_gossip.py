"""The mempool gossip reactor: `{"t": "txs", "txs": [envelope, ...]}` between peers.

Transactions a peer sends are admitted through `Node.admit` (at most `2 * TX_GOSSIP_BATCH` a
message). Every newly admitted transaction (`Node.on_admitted`) is queued with the peer it came
from (None: a local submission) and the queue is sent once per loop turn, or at once when it
holds `TX_GOSSIP_BATCH`. `TxBatch` is the pure part: the queue and the relay rule. Local
submissions go to every peer. Transactions from a peer are relayed (to every peer but that one)
by full nodes only: validators keep a full mesh, so a validator's relay would only make each
validator parse every transaction three times; one that misses a transaction still gets it in
the block of the validator that holds it. A message holding a transaction that no honest node
would pass on whatever its state (malformed, oversized, badly signed) costs the sender `MINOR`
points; refusals that depend on the state (nonces, roles, a full mempool) cost nothing. Each
peer may send `TX_BUDGET_PER_S` transactions a second (burst twice that): beyond it a message
is dropped unread and costs `SERIOUS` points, so a participant flooding valid transactions is
banned within a second or two instead of keeping every node busy parsing. Honest nodes never
reach it: every node paces its own gossip at 90% of the budget (a message that would exceed
it is sent later, in order), as the transport paces frames under the rate it enforces. A message of more than twice the gossip
batch, which no honest node sends, costs `SERIOUS` points.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from ledger_core.chain.tx import Tx
from ledger_core.net.peer_score import MINOR, SERIOUS
from ledger_core.net.ratelimit import TokenBucket
from ledger_core.node.router import Handler
from ledger_core.node.runtime import Reactor, Shared

TX_GOSSIP_BATCH = 2000
TX_BUDGET_PER_S = 3_000
PACE = 0.9  # our own gossip stays under this share of the budget every peer enforces
# refusal codes that no state explains: an honest peer never relays such a transaction
MALFORMED = frozenset(
    {"bad_encoding", "bad_envelope", "bad_payload", "unknown_type", "too_large", "bad_signature"}
)

Send = tuple[dict[str, Any], tuple[str, ...]]  # (message, peers to leave out)


class TxBatch:
    """Envelopes waiting to be gossiped, each with its origin peer (None: local)."""

    def __init__(self) -> None:
        self._out: list[tuple[Any, str | None]] = []

    def __len__(self) -> int:
        return len(self._out)

    def add(self, env: Any, origin: str | None) -> bool:
        """Queue one; True when the batch is full and should be sent now."""
        self._out.append((env, origin))
        return len(self._out) >= TX_GOSSIP_BATCH

    def clear(self) -> None:
        self._out = []

    def take(self, relay: bool) -> list[Send]:
        """Empty the batch into messages: local ones to everyone, a peer's to everyone but
        that peer when `relay`, else not at all."""
        by_origin: dict[str | None, list[Any]] = {}
        for env, origin in self._out:
            if origin is None or relay:
                by_origin.setdefault(origin, []).append(env)
        self._out = []
        return [
            ({"t": "txs", "txs": envs}, (origin,) if origin else ())
            for origin, envs in by_origin.items()
        ]


class TxGossip(Reactor):
    """Mempool gossip for one node (see module docstring). `relays()` says whether this node
    passes peers' transactions on; `after()` runs once transactions came in or went out (the
    consensus reactor may start the next height)."""

    def __init__(
        self, shared: Shared, *, relays: Callable[[], bool], after: Callable[[], None]
    ) -> None:
        super().__init__(shared)
        self.relays = relays
        self.after = after
        self.batch = TxBatch()
        self._flush_scheduled = False
        self._from_peer: str | None = None
        self._budgets: dict[str, TokenBucket] = {}  # per peer key (registered keys: bounded)
        pace = PACE * TX_BUDGET_PER_S
        self._pace = TokenBucket(pace, 2 * pace, time.monotonic())
        self._paced_until = 0.0  # when the last paced message goes out

    def routes(self) -> dict[str, Handler]:
        return {"txs": self.on_txs}

    def on_txs(self, kid: str, msg: dict[str, Any]) -> None:
        envs = msg.get("txs")
        if type(envs) is not list:
            return
        if len(envs) > TX_GOSSIP_BATCH * 2:
            self.link.penalize(kid, "oversized_txs", SERIOUS, f"{len(envs)} transactions")
            return
        now = time.monotonic()
        budget = self._budgets.get(kid)
        if budget is None:
            budget = self._budgets[kid] = TokenBucket(TX_BUDGET_PER_S, 2 * TX_BUDGET_PER_S, now)
        if not budget.allow(now, len(envs)):
            self.link.penalize(kid, "tx_flood", SERIOUS, f"over {TX_BUDGET_PER_S} transactions/s")
            return
        self._from_peer = kid
        malformed = None
        try:
            for env in envs:
                answer, _hash = self.node.admit(env)
                if malformed is None and answer.get("code") in MALFORMED:
                    malformed = answer
        finally:
            self._from_peer = None
        if malformed is not None:
            detail = f"{malformed['code']}: {malformed.get('message', '')}"[:200]
            self.link.penalize(kid, "bad_tx", MINOR, detail)
        self.after()

    def queue(self, tx: Tx) -> None:
        """The `Node.on_admitted` hook: gossip newly admitted txs, batched per loop turn."""
        if self.batch.add(tx.envelope(), self._from_peer):
            self.flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        if not self.batch or not self.link.open:
            self.batch.clear()
            return
        loop = asyncio.get_running_loop()
        for msg, exclude in self.batch.take(self.relays()):
            now = time.monotonic()
            wait = max(self._pace.reserve(now, len(msg["txs"])), self._paced_until - now)
            if wait > 0:
                self._paced_until = now + wait  # later messages go after this one
                loop.call_later(wait, self.link.broadcast, msg, exclude)
            else:
                self.link.broadcast(msg, exclude)
        self.after()
