"""The GUI's image decoding (the audit page's picture of a stored image) refuses an image bomb
before any Qt image reader sees it, and says why on the page."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inspection.errors import ImageTooLarge, UnsupportedImage
from inspection.records import InspectionRecord
from tests.support.image_bombs import jpeg_bomb, png_bomb
from ui import image_load
from ui.audit.page import AuditBackend, AuditPage


@pytest.fixture
def no_qt_reader(monkeypatch):
    def refuse(*_a, **_k):
        pytest.fail("a Qt image reader was made for an image over the budget")

    monkeypatch.setattr(image_load, "QImageReader", refuse)


@pytest.mark.parametrize("make", [png_bomb, jpeg_bomb], ids=["png", "jpeg"])
def test_bomb_never_reaches_qt(make, no_qt_reader, qapp):
    with pytest.raises(ImageTooLarge, match="12000x12000"):
        image_load.pixmap_from_bytes(make())


def test_other_formats_never_reach_qt(no_qt_reader, qapp):
    with pytest.raises(UnsupportedImage):
        image_load.pixmap_from_bytes(b"GIF89a" + b"\x00" * 64)


def test_good_image_loads(qapp):
    png = cv2.imencode(".png", np.full((20, 30), 77, np.uint8))[1].tobytes()
    pix = image_load.pixmap_from_bytes(png)
    assert (pix.width(), pix.height()) == (30, 20)


def test_audit_page_shows_the_refusal(qtbot, no_qt_reader):
    bomb = png_bomb()
    rec = InspectionRecord("wp-1", "o-1", "cam", 1, 2, "ab" * 32, "m" * 64, "p" * 64,
                           {"crazing": 1000}, 900, "OK").to_json_dict()
    rec["id"] = 1
    backend = AuditBackend(find=lambda _w: [rec], image=lambda _s: bomb, verify=lambda _r: None)
    page = AuditPage(backend)
    qtbot.addWidget(page)
    page.search.setText("wp-1")
    page.find()
    page.show_record(0)
    assert page.picture.text().startswith(
        "image cannot be shown: PNG image is 12000x12000: over the side limit")
    assert page.picture.pixmap() is None or page.picture.pixmap().isNull()
