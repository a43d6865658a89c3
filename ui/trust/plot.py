"""The Trust page's trust-over-time plot: expected trust, belief, disbelief and uncertainty of the
selected subject as steps over the block height (trust changes only where ratings were committed),
a dot where each change lands, and the trust threshold as a dashed line."""

from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import Qt

from ui.trust.history import Point

PPM = 1_000_000
# (Point field, legend name, colour, width, pen style)
SERIES = (
    ("expected_ppm", "expected", "#2e7bcf", 3, Qt.PenStyle.SolidLine),
    ("belief_ppm", "belief", "#2e9d4f", 1, Qt.PenStyle.SolidLine),
    ("disbelief_ppm", "disbelief", "#c8423b", 1, Qt.PenStyle.SolidLine),
    ("uncertainty_ppm", "uncertainty", "#9aa0a6", 1, Qt.PenStyle.DashLine),
)


def steps(points: Sequence[Point], field: str) -> tuple[list[float], list[float]]:
    """x and y of a step line: a value holds until the next point's height."""
    xs: list[float] = []
    ys: list[float] = []
    for p in points:
        if ys:
            xs.append(p.height)
            ys.append(ys[-1])
        xs.append(p.height)
        ys.append(getattr(p, field) / PPM)
    return xs, ys


class TrustPlot(pg.PlotWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setLabel("left", "trust")
        self.setLabel("bottom", "block height")
        self.setYRange(0, 1, padding=0.02)
        self.setMouseEnabled(y=False)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.addLegend(offset=(8, 4), colCount=len(SERIES), labelTextSize="8pt", brush=pg.mkBrush(0, 0, 0, 170))
        self.curves = {field: self.plot([], [], pen=pg.mkPen(color, width=width, style=style), name=name)
                       for field, name, color, width, style in SERIES}
        self.marks = pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush("#2e7bcf"))
        self.addItem(self.marks)
        self.threshold = pg.InfiniteLine(angle=0, pen=pg.mkPen("#c8423b", style=Qt.PenStyle.DashLine))
        self.addItem(self.threshold)

    @property
    def expected(self) -> pg.PlotDataItem:
        return self.curves["expected_ppm"]

    def set_threshold(self, ppm: int) -> None:
        self.threshold.setValue(ppm / PPM)

    def set_points(self, points: Sequence[Point]) -> None:
        for field, curve in self.curves.items():
            curve.setData(*steps(points, field))
        self.marks.setData([p.height for p in points], [p.expected_ppm / PPM for p in points])
        if points:
            self.setXRange(points[0].height, max(points[-1].height, 1), padding=0.02)
