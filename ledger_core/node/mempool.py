"""The mempool: admitted transactions in arrival order, each sender's highest pending nonce, and
quotas so no one participant can fill it.

Bounds: `capacity` transactions and `max_bytes` in all; per sender `max_sender_txs` and
`max_sender_bytes` (defaults: 1% of the count and 5% of the bytes, so a participant flooding
with valid transactions of its own keys leaves room for everyone else's).

`take(n)` fills a block fairly: round robin over the senders in the order they arrived,
`n // FAIR_SHARE` transactions of each per turn, each sender's in arrival (= nonce) order. A flooding sender cannot keep the others' transactions out of blocks. Across
senders the order is per sender, not per transaction: one that depends on another sender's
later-placed one (rare: approvals wait for the proposal to commit) is refused by the block and
can be sent again.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from ledger_core.chain.tx import Tx, TxError

DEFAULT_CAPACITY = 200_000
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
SENDER_TXS_SHARE = 100  # a sender may hold 1/100 of the pool's transactions
SENDER_BYTES_SHARE = 20  # and 1/20 of its bytes
FAIR_SHARE = 8  # a sender gets at most 1/8 of a block before the others had their turn


def quota_error(count: int, size: int) -> TxError:
    return TxError(
        "sender_quota",
        f"this sender already has {count} pending transactions ({size} bytes); "
        "retry after they commit",
    )


class Mempool:
    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_sender_txs: int | None = None,
        max_sender_bytes: int | None = None,
    ) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.max_sender_txs = max_sender_txs or max(1, capacity // SENDER_TXS_SHARE)
        self.max_sender_bytes = max_sender_bytes or max(1, max_bytes // SENDER_BYTES_SHARE)
        self._txs: dict[str, Tx] = {}
        # per sender, its pending transactions in arrival (= nonce) order; senders in the order
        # they arrived with nothing pending before
        self._queues: dict[str, dict[str, Tx]] = {}
        self._nonce: dict[str, int] = {}
        self._sender_bytes: dict[str, int] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._txs)

    def __contains__(self, tx_hash: str) -> bool:
        return tx_hash in self._txs

    def pending_nonce(self, sender: str) -> int | None:
        return self._nonce.get(sender)

    def pending_count(self, sender: str) -> int:
        return len(self._queues.get(sender, ()))

    def pending_bytes(self, sender: str) -> int:
        return self._sender_bytes.get(sender, 0)

    def sender_full(self, sender: str) -> bool:
        """The sender holds its whole count quota (a check before parsing its next one)."""
        return self.pending_count(sender) >= self.max_sender_txs

    def precheck(self, tx: Tx) -> None:
        if tx.hash in self._txs:
            raise TxError("duplicate", "this transaction is already pending")
        size = len(tx.raw)
        if len(self._txs) >= self.capacity or self.bytes + size > self.max_bytes:
            raise TxError(
                "mempool_full", f"the mempool holds {len(self._txs)} transactions; retry later"
            )
        sender = tx.sender
        if self.sender_full(sender) or self.pending_bytes(sender) + size > self.max_sender_bytes:
            raise quota_error(self.pending_count(sender), self.pending_bytes(sender))

    def add(self, tx: Tx) -> None:
        """Add an admitted transaction (the caller ran precheck and the state checks)."""
        self._txs[tx.hash] = tx
        self._queues.setdefault(tx.sender, {})[tx.hash] = tx
        self._nonce[tx.sender] = max(tx.nonce, self._nonce.get(tx.sender, 0))
        self._sender_bytes[tx.sender] = self.pending_bytes(tx.sender) + len(tx.raw)
        self.bytes += len(tx.raw)

    def take(self, n: int) -> list[Tx]:
        """Up to n pending transactions for a block, fairly (see module docstring); they stay
        until `remove`. Costs O(senders + n), whatever one sender holds."""
        share = max(1, n // FAIR_SHARE)
        out: list[Tx] = []
        turns = [iter(q.values()) for q in self._queues.values()]
        while turns and len(out) < n:
            still = []
            for txs in turns:
                chunk = list(islice(txs, min(share, n - len(out))))
                out += chunk
                if len(chunk) == share:
                    still.append(txs)
                if len(out) >= n:
                    break
            turns = still
        return out

    def remove(self, txs: Iterable[Tx]) -> None:
        """Drop committed or rejected transactions; a sender with none left falls back to the
        committed nonce."""
        for tx in txs:
            if self._txs.pop(tx.hash, None) is None:
                continue
            self.bytes -= len(tx.raw)
            queue = self._queues[tx.sender]
            del queue[tx.hash]
            if queue:
                self._sender_bytes[tx.sender] -= len(tx.raw)
            else:
                del self._queues[tx.sender]
                del self._nonce[tx.sender]
                del self._sender_bytes[tx.sender]
