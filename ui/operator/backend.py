"""What the Operator perspective needs from the application (app.gui.inspection_pages provides it)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from inspection.engine import Inspector
from inspection.orders import Order


class OperatorBackend(Protocol):
    def orders(self) -> list[Order]:
        """The orders to choose from (the bundled ones until a file is loaded)."""

    def load_orders(self, path: Path) -> list[Order]:
        """Orders from a .json/.csv file; raises with a message the user can read."""

    def sources(self) -> list[str]:
        """Suggested sources (the replayed sample images first)."""

    def make_inspector(self, order: Order) -> Inspector:
        """A warmed-up inspector storing records under the data dir; raises with a message."""
