"""Small pieces of widget wiring that several pages share."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget


def splitter(orientation: Qt.Orientation, *widgets: QWidget, stretch: Iterable[int] = (),
             sizes: list[int] | None = None) -> QSplitter:
    """A splitter of `widgets` in order, with their stretch factors and/or initial sizes."""
    split = QSplitter(orientation)
    for w in widgets:
        split.addWidget(w)
    for i, factor in enumerate(stretch):
        split.setStretchFactor(i, factor)
    if sizes is not None:
        split.setSizes(sizes)
    return split
