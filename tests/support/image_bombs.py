"""Image bombs for the tests: small files whose headers promise huge images.

`png_bomb` is a real 12000 x 12000 grey PNG (all-zero rows, about 140 KB deflated) that a decoder
would inflate to 144 MB; `png_header` and `jpeg_bomb` patch the size into a tiny file's header.
The rows are compressed a block at a time, so building a bomb never holds the inflated image.
"""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int = 12000, height: int = 12000) -> bytes:
    """A valid 8-bit grey PNG of `width` x `height` zero pixels."""
    comp = zlib.compressobj(9)
    block = b"\x00" * ((width + 1) * 256)
    idat = []
    for start in range(0, height, 256):
        idat.append(comp.compress(block[: (width + 1) * min(256, height - start)]))
    idat.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", b"".join(idat))
            + png_chunk(b"IEND", b""))


def png_header(width: int, height: int, depth: int = 8, colour: int = 0) -> bytes:
    """A PNG whose IHDR says `width` x `height` (its image data is a few bytes of nothing)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def jpeg_bomb(width: int = 12000, height: int = 12000) -> bytes:
    """A 16 x 16 baseline JPEG whose SOF0 frame header says `width` x `height`."""
    data = bytearray(cv2.imencode(".jpg", np.full((16, 16), 128, np.uint8))[1].tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)
