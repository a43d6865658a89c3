"""What a transaction's state effect works on: the copy-on-write `View` of the state tables,
the `TxContext` it is given, and the `Rules` (effect per transaction type, state tables) that a
`LedgerState` is built with.

The rules are passed in explicitly: the chain layer knows membership (membership.py), the
attestation layer adds certificates, ratings, anchoring and monitoring
(`ledger_core.attest.rules.LEDGER_RULES`), and nothing registers itself by being imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ledger_core.chain.tx import Tx

Writes = dict[tuple[str, str], Any]


class View:
    """Copy-on-write reads and writes over a parent view or the committed tables."""

    __slots__ = ("parent", "base", "writes")

    def __init__(self, parent: View | dict[str, dict[str, Any]]) -> None:
        self.parent = parent if isinstance(parent, View) else None
        self.base = parent if isinstance(parent, dict) else None
        self.writes: Writes = {}

    def get(self, table: str, key: str) -> Any:
        k = (table, key)
        if k in self.writes:
            return self.writes[k]
        if self.parent is not None:
            return self.parent.get(table, key)
        return self.base[table].get(key)

    def put(self, table: str, key: str, record: Any) -> None:
        self.writes[(table, key)] = record

    def delete(self, table: str, key: str) -> None:
        self.writes[(table, key)] = None

    def keys(self, table: str) -> set[str]:
        out = self.parent.keys(table) if self.parent is not None else set(self.base[table])
        for (t, k), rec in self.writes.items():
            if t == table:
                (out.add if rec is not None else out.discard)(k)
        return out

    def merge_into_parent(self) -> None:
        assert self.parent is not None
        self.parent.writes.update(self.writes)


@dataclass
class TxContext:
    """What an effect handler sees: the view, the transaction, its sender's record, the height."""

    view: View
    tx: Tx
    sender: dict[str, Any]
    height: int
    chain_id: str
    time_ms: int = 0  # the block's time (the head's time when admitting to the mempool)


Effect = Callable[[TxContext], None]


@dataclass(frozen=True)
class Rules:
    """The state tables and the effect of each transaction type (types without one only move
    the sender's nonce). Immutable; `extended` builds a larger rule set."""

    tables: tuple[str, ...]
    effects: Mapping[str, Effect] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "effects", MappingProxyType(dict(self.effects)))

    def extended(self, tables: tuple[str, ...], effects: Mapping[str, Effect]) -> Rules:
        clash = set(effects) & set(self.effects) or set(tables) & set(self.tables)
        if clash:
            raise ValueError(f"rules already define {sorted(clash)}")
        return Rules(self.tables + tuple(tables), {**self.effects, **effects})
