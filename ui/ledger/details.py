"""Block and transaction detail panes (read-only trees)."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from ledger_core.chain.tx import TxError, check_signature, from_obj
from ui.ledger.model import fmt_time


def _tree(headers: list[str]) -> QTreeWidget:
    t = QTreeWidget()
    t.setHeaderLabels(headers)
    t.setColumnCount(len(headers))
    t.setUniformRowHeights(True)
    t.setAlternatingRowColors(True)
    return t


class BlockDetail(QTreeWidget):
    """Header fields, commit signers and the transactions of one block."""

    txActivated = Signal(str)  # tx hash

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["Field", "Value"])
        self.setUniformRowHeights(True)
        self.itemActivated.connect(self._activated)
        self.itemClicked.connect(self._activated)

    def show_block(self, block: dict[str, Any] | None) -> None:
        self.clear()
        if block is None:
            return
        head = QTreeWidgetItem(self, ["Header", f"height {block['height']}"])
        for k, v in block["header"].items():
            QTreeWidgetItem(head, [k, fmt_time(v) + f"  ({v})" if k == "time" else str(v)])
        QTreeWidgetItem(head, ["block id", block["block_id"]])
        commit = block["commit"]
        signers = QTreeWidgetItem(self, ["Commit", f"round {commit['round']}, {len(commit['signatures'])} signature(s)"])
        for s in commit["signatures"]:
            QTreeWidgetItem(signers, ["validator", s["validator"]])
        txs = QTreeWidgetItem(self, ["Transactions", str(len(block["txs"]))])
        for x in block["txs"][:5000]:
            item = QTreeWidgetItem(txs, [f"#{x['index']} {x['type']}", x["hash"]])
            item.setData(0, Qt.ItemDataRole.UserRole, x["hash"])
            item.setToolTip(1, f"sender {x['sender']}, nonce {x['nonce']}")
        for item in (head, signers, txs):
            item.setExpanded(True)
        self.resizeColumnToContents(0)

    def _activated(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        h = item.data(0, Qt.ItemDataRole.UserRole)
        if h:
            self.txActivated.emit(h)


def signature_status(tx: dict[str, Any], sender: dict[str, Any] | None) -> str:
    if sender is None:
        return "unknown sender"
    try:
        check_signature(from_obj(tx["envelope"]), bytes.fromhex(sender["public_key"]))
    except TxError as exc:
        return f"INVALID ({exc})"
    return "valid (Ed25519, sender's registered key)"


class TxDetail(QTreeWidget):
    """One transaction: where it is, who sent it, whether its signature holds, its payload."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["Field", "Value"])
        self.setUniformRowHeights(False)

    def show_tx(self, tx: dict[str, Any] | None, sender: dict[str, Any] | None) -> None:
        self.clear()
        if tx is None:
            return
        body = tx["envelope"]["body"]
        rows = [
            ("hash", tx["hash"]),
            ("block", f"height {tx['height']}, index {tx['index']}"),
            ("type", body["type"]),
            ("sender", body["sender"]),
            ("organisation", sender["org"] if sender else "?"),
            ("name", f"{sender['name']} ({sender['kind']}, {', '.join(sender['roles']) or 'no roles'})" if sender else "?"),
            ("nonce", str(body["nonce"])),
            ("time", fmt_time(body["time"])),
            ("signature", signature_status(tx, sender)),
        ]
        for k, v in rows:
            QTreeWidgetItem(self, [k, v])
        payload = QTreeWidgetItem(self, ["payload", ""])
        _fill(payload, body["payload"])
        payload.setExpanded(True)
        self.expandAll()
        self.resizeColumnToContents(0)


def _fill(parent: QTreeWidgetItem, value: Any) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            child = QTreeWidgetItem(parent, [k, "" if isinstance(v, dict | list) and v else json.dumps(v, ensure_ascii=False)])
            _fill(child, v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            child = QTreeWidgetItem(parent, [f"[{i}]", "" if isinstance(v, dict | list) and v else json.dumps(v, ensure_ascii=False)])
            _fill(child, v)
