"""Encoded image bytes from outside (the history store, a dropped or chosen file) to a QPixmap,
behind the inspection pixel budget.

The header is read and the budget applied (`inspection.image_budget.check_encoded`) before Qt
sees the bytes, so a format the budget cannot vouch for or an image bomb never reaches a Qt
image plugin; Qt's own reader then has to agree on the size before it decodes.
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImageReader, QPixmap

from inspection.errors import ImageError
from inspection.image_budget import check_encoded


def pixmap_from_bytes(data: bytes) -> QPixmap:
    """The decoded pixmap; ImageError (its one-line message shown as is) when refused or bad."""
    header = check_encoded(data)
    buf = QBuffer()
    buf.setData(QByteArray(data))
    buf.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buf)
    size = reader.size()
    if (size.width(), size.height()) != (header.width, header.height):
        raise ImageError(f"image size {size.width()}x{size.height()} read by Qt differs from the "
                         f"header's {header.width}x{header.height}")
    image = reader.read()
    if image.isNull():
        raise ImageError(f"image cannot be decoded: {reader.errorString()}")
    return QPixmap.fromImage(image)
