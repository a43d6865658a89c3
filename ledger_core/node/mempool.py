"""The mempool: admitted transactions in arrival order, each sender's highest pending nonce, and
quotas so no one participant can fill it.

Bounds: `capacity` transactions and `max_bytes` in all; per sender `max_sender_txs` and
`max_sender_bytes` (defaults: 5% of the totals, so a participant flooding with valid
transactions of its own keys leaves room for everyone else's).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from ledger_core.chain.tx import Tx, TxError

DEFAULT_CAPACITY = 200_000
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
SENDER_SHARE = 20  # a sender may hold 1/20 of the pool (count and bytes)


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
        self.max_sender_txs = max_sender_txs or max(1, capacity // SENDER_SHARE)
        self.max_sender_bytes = max_sender_bytes or max(1, max_bytes // SENDER_SHARE)
        self._txs: OrderedDict[str, Tx] = OrderedDict()
        self._nonce: dict[str, int] = {}
        self._count: dict[str, int] = {}
        self._sender_bytes: dict[str, int] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._txs)

    def __contains__(self, tx_hash: str) -> bool:
        return tx_hash in self._txs

    def pending_nonce(self, sender: str) -> int | None:
        return self._nonce.get(sender)

    def precheck(self, tx: Tx) -> None:
        if tx.hash in self._txs:
            raise TxError("duplicate", "this transaction is already pending")
        size = len(tx.raw)
        if len(self._txs) >= self.capacity or self.bytes + size > self.max_bytes:
            raise TxError(
                "mempool_full", f"the mempool holds {len(self._txs)} transactions; retry later"
            )
        if (
            self._count.get(tx.sender, 0) >= self.max_sender_txs
            or self._sender_bytes.get(tx.sender, 0) + size > self.max_sender_bytes
        ):
            raise TxError(
                "sender_quota",
                f"this sender already has {self._count.get(tx.sender, 0)} pending transactions "
                f"({self._sender_bytes.get(tx.sender, 0)} bytes); retry after they commit",
            )

    def add(self, tx: Tx) -> None:
        """Add an admitted transaction (the caller ran precheck and the state checks)."""
        self._txs[tx.hash] = tx
        self._nonce[tx.sender] = max(tx.nonce, self._nonce.get(tx.sender, 0))
        self._count[tx.sender] = self._count.get(tx.sender, 0) + 1
        self._sender_bytes[tx.sender] = self._sender_bytes.get(tx.sender, 0) + len(tx.raw)
        self.bytes += len(tx.raw)

    def take(self, n: int) -> list[Tx]:
        """Up to n oldest transactions (they stay until `remove`)."""
        out = []
        for tx in self._txs.values():
            if len(out) >= n:
                break
            out.append(tx)
        return out

    def remove(self, txs: Iterable[Tx]) -> None:
        """Drop committed or rejected transactions; a sender with none left falls back to the
        committed nonce."""
        for tx in txs:
            if self._txs.pop(tx.hash, None) is None:
                continue
            self.bytes -= len(tx.raw)
            left = self._count[tx.sender] - 1
            if left:
                self._count[tx.sender] = left
                self._sender_bytes[tx.sender] -= len(tx.raw)
            else:
                del self._count[tx.sender]
                del self._nonce[tx.sender]
                del self._sender_bytes[tx.sender]
