"""The mempool: admitted transactions in arrival order, with each sender's highest pending nonce."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from ledger_core.chain.tx import Tx, TxError

DEFAULT_CAPACITY = 200_000


class Mempool:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._txs: OrderedDict[str, Tx] = OrderedDict()
        self._nonce: dict[str, int] = {}
        self._count: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._txs)

    def __contains__(self, tx_hash: str) -> bool:
        return tx_hash in self._txs

    def pending_nonce(self, sender: str) -> int | None:
        return self._nonce.get(sender)

    def precheck(self, tx: Tx) -> None:
        if tx.hash in self._txs:
            raise TxError("duplicate", "this transaction is already pending")
        if len(self._txs) >= self.capacity:
            raise TxError(
                "mempool_full", f"the mempool holds {self.capacity} transactions; retry later"
            )

    def add(self, tx: Tx) -> None:
        """Add an admitted transaction (the caller ran precheck and the state checks)."""
        self._txs[tx.hash] = tx
        self._nonce[tx.sender] = max(tx.nonce, self._nonce.get(tx.sender, 0))
        self._count[tx.sender] = self._count.get(tx.sender, 0) + 1

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
            left = self._count[tx.sender] - 1
            if left:
                self._count[tx.sender] = left
            else:
                del self._count[tx.sender]
                del self._nonce[tx.sender]
