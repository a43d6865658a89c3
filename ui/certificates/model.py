"""Certificates as a Qt table model (kind, name, version, issuer, height, status, trust) with a
proxy filtering by kind, status and issuer text."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt

_ROOT = QModelIndex()
COLUMNS = ("Kind", "Name", "Version", "Issuer", "Height", "Status", "Trust", "Id")


class CertsModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=_ROOT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802 - Qt API
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        r = self.rows[index.row()]
        values = (r["kind"], r["name"], r["version"], r["issuer_name"], r["height"], r["status"],
                  f"{r['trust_ppm'] / 1e6:.3f}", r["id"][:16])
        if role == Qt.ItemDataRole.DisplayRole:
            return str(values[index.column()])
        if role == Qt.ItemDataRole.UserRole:
            return r
        if role == Qt.ItemDataRole.ToolTipRole:
            return r["id"]
        return None


def cert_id(index: QModelIndex) -> str | None:
    """The certificate id of a row of CertsModel (or of a proxy over it)."""
    row = index.data(Qt.ItemDataRole.UserRole)
    return None if row is None else row["id"]


class CertsFilter(QSortFilterProxyModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.kind = ""
        self.status = ""
        self.issuer = ""

    def set_filter(self, kind: str, status: str, issuer: str) -> None:
        if not hasattr(self, "beginFilterChange"):  # Qt before 6.9
            self.kind, self.status, self.issuer = kind, status, issuer.strip().lower()
            self.invalidateFilter()
            return
        self.beginFilterChange()
        self.kind, self.status, self.issuer = kind, status, issuer.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent) -> bool:  # noqa: N802 - Qt API
        r = self.sourceModel().rows[row]
        return ((not self.kind or r["kind"] == self.kind) and (not self.status or r["status"] == self.status)
                and (not self.issuer or self.issuer in r["issuer_name"].lower() or self.issuer in r["issuer"]))


def cert_rows(live: Any, trust_of) -> list[dict[str, Any]]:
    """Rows for the table from the ledger state (newest first)."""
    rows = []
    for k in live.keys("cert"):
        rec = live.get("cert", k)
        p = live.get("participant", rec["issuer"]) or {}
        c = rec["cert"]
        rows.append({"id": k, "kind": c["kind"], "name": c["subject"]["name"], "version": c["subject"]["version"],
                     "issuer": rec["issuer"], "issuer_name": f"{p.get('name', '?')} ({rec['issuer_org']})",
                     "height": rec["height"], "status": rec["status"], "trust_ppm": trust_of(k)})
    rows.sort(key=lambda r: (-r["height"], r["id"]))
    return rows
