"""Image dimensions read from the header of an encoded file, before any decoder sees it.

`read_header(data)` recognises PNG (IHDR), JPEG (the first SOFn frame header, after the APPn and
other segments), BMP, TIFF (the first IFD) and WebP (VP8, VP8L, VP8X), and returns the width,
height and an upper estimate of what a decoder allocates for them. Anything else (another
format, a damaged or unusual header, an animated PNG or WebP, a BigTIFF) is refused with
`UnsupportedImage`, the only exception it raises, so it is never handed to a decoder.

Bounded work: PNG, JPEG, BMP and WebP headers are looked for in the first `HEADER_LIMIT` bytes
only; a TIFF's first IFD sits wherever its header points (writers often put it after the pixel
data), so for TIFF the reader looks at the 8-byte header plus at most `MAX_TIFF_ENTRIES` 12-byte
directory entries and a few 2-byte values. Pure: no I/O, no decoder, no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

from inspection.errors import UnsupportedImage

HEADER_LIMIT = 256 * 1024  # APPn segments (EXIF thumbnails, ICC profiles) come before a JPEG's SOF
MAX_TIFF_ENTRIES = 1024

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 4, 4: 2, 6: 4}  # palette: BGRA when it carries transparency
# SOF0..SOF15 without DHT (C4), JPG (C8) and DAC (CC); progressive ones keep all coefficients
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_BMP_INFO_SIZES = (40, 52, 56, 64, 108, 124)
_TIFF_TYPE_SIZES = {3: 2, 4: 4}  # SHORT, LONG: the only types the size tags use


@dataclass(frozen=True)
class ImageHeader:
    """What the header says: `channels` and `bytes_per_sample` bound what the decoder produces;
    `work_bytes` is decoder memory beyond its output (progressive JPEG coefficients, a TIFF
    tile or strip buffer)."""

    format: str
    width: int
    height: int
    channels: int
    bytes_per_sample: int
    work_bytes: int = 0

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        """An upper estimate of the memory a decoder needs for this image."""
        return self.pixels * self.channels * self.bytes_per_sample + self.work_bytes


def _refuse(why: str) -> UnsupportedImage:
    return UnsupportedImage(f"unsupported image: {why}")


def _uint(b: bytes, start: int, size: int, order: str) -> int:
    """The unsigned integer of `size` bytes at `start`; UnsupportedImage past the end."""
    if start < 0 or start + size > len(b):
        raise _refuse("header ends early")
    return int.from_bytes(b[start:start + size], order)  # type: ignore[arg-type]


def read_header(data: bytes | bytearray | memoryview) -> ImageHeader:
    """The header of an encoded image; UnsupportedImage for anything it cannot vouch for."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise _refuse(f"not bytes but {type(data).__name__}")
    head = bytes(data[:HEADER_LIMIT])
    if head.startswith(PNG_SIGNATURE):
        return _png(head)
    if head.startswith(b"\xff\xd8\xff"):
        return _jpeg(head)
    if head.startswith(b"BM"):
        return _bmp(head)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff(data)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp(head)
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        raise _refuse("BigTIFF is not supported")
    raise _refuse("not a PNG, JPEG, BMP, TIFF or WebP file")


def _checked(
    fmt: str, width: int, height: int, channels: int, bps: int, work: int = 0
) -> ImageHeader:
    if width <= 0 or height <= 0:
        raise _refuse(f"{fmt} header gives a size of {width}x{height}")
    return ImageHeader(fmt, width, height, channels, bps, work)


def _png(b: bytes) -> ImageHeader:
    if _uint(b, 8, 4, "big") != 13 or b[12:16] != b"IHDR":
        raise _refuse("PNG does not start with an IHDR chunk")
    width, height = _uint(b, 16, 4, "big"), _uint(b, 20, 4, "big")
    depth, colour = _uint(b, 24, 1, "big"), _uint(b, 25, 1, "big")
    if depth not in _PNG_DEPTHS.get(colour, ()):
        raise _refuse(f"PNG colour type {colour} with bit depth {depth}")
    if width >= 1 << 31 or height >= 1 << 31:
        raise _refuse("PNG size out of range")
    pos = 33  # the chunks before the image data: an animation control means an animated PNG
    while True:
        length, kind = _uint(b, pos, 4, "big"), b[pos + 4:pos + 8]
        if kind == b"IDAT":
            break
        if kind == b"acTL":
            raise _refuse("animated PNG is not supported")
        if kind == b"IEND" or length >= 1 << 31:
            raise _refuse("PNG without image data")
        pos += 12 + length
    return _checked("png", width, height, _PNG_CHANNELS[colour], 2 if depth == 16 else 1)


def _jpeg(b: bytes) -> ImageHeader:
    pos = 2
    while True:
        if _uint(b, pos, 1, "big") != 0xFF:
            raise _refuse("JPEG has bytes between its segments")
        while _uint(b, pos, 1, "big") == 0xFF:  # fill bytes
            pos += 1
        marker = b[pos]
        pos += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue  # a marker without a segment
        if marker in (0x00, 0xD8, 0xD9, 0xDA):
            raise _refuse("JPEG has no frame header before its image data")
        length = _uint(b, pos, 2, "big")
        if length < 2:
            raise _refuse("JPEG segment with a bad length")
        if marker in _JPEG_SOF:
            if length < 8:
                raise _refuse("JPEG frame header too short")
            precision, components = _uint(b, pos + 2, 1, "big"), _uint(b, pos + 7, 1, "big")
            height, width = _uint(b, pos + 3, 2, "big"), _uint(b, pos + 5, 2, "big")
            if not 1 <= components <= 4:
                raise _refuse(f"JPEG with {components} components")
            if height == 0:
                raise _refuse("JPEG whose height comes later (DNL) is not supported")
            bps = 2 if precision > 8 else 1
            work = width * height * components * 2 if marker in _JPEG_PROGRESSIVE else 0
            return _checked("jpeg", width, height, components, bps, work)
        pos += length


def _bmp(b: bytes) -> ImageHeader:
    info = _uint(b, 14, 4, "little")
    if info == 12:
        width, height = _uint(b, 18, 2, "little"), _uint(b, 20, 2, "little")
        bits = _uint(b, 24, 2, "little")
    elif info in _BMP_INFO_SIZES:
        width, height = _uint(b, 18, 4, "little"), _uint(b, 22, 4, "little")
        width = width - (1 << 32) if width >= 1 << 31 else width
        height = abs(height - (1 << 32) if height >= 1 << 31 else height)  # negative: top-down
        bits = _uint(b, 28, 2, "little")
    else:
        raise _refuse(f"BMP with a {info}-byte info header")
    if bits not in (1, 4, 8, 16, 24, 32):
        raise _refuse(f"BMP with {bits} bits per pixel")
    return _checked("bmp", width, height, 4 if bits == 32 else 3, 1)


def _tiff(data: bytes | bytearray | memoryview) -> ImageHeader:
    order = "little" if bytes(data[:2]) == b"II" else "big"

    def u(start: int, size: int) -> int:
        return _uint(bytes(data[start:start + size]), 0, size, order)

    ifd = u(4, 4)
    count = u(ifd, 2)
    if not 1 <= count <= MAX_TIFF_ENTRIES:
        raise _refuse(f"TIFF directory with {count} entries")
    tags: dict[int, list[int]] = {}
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag, kind, n = u(entry, 2), u(entry + 2, 2), u(entry + 4, 4)
        if tag not in (256, 257, 258, 277, 278, 322, 323):
            continue
        size = _TIFF_TYPE_SIZES.get(kind)
        if size is None or not 1 <= n <= 8:
            raise _refuse(f"TIFF tag {tag} of type {kind} with {n} values")
        at = entry + 8 if size * n <= 4 else u(entry + 8, 4)
        tags[tag] = [u(at + size * k, size) for k in range(n)]
    if 256 not in tags or 257 not in tags:
        raise _refuse("TIFF without a width and height")
    width, height = tags[256][0], tags[257][0]
    samples = tags.get(277, [1])[0]
    bits = max(tags.get(258, [1]))
    if not 1 <= samples <= 8 or not 1 <= bits <= 64:
        raise _refuse(f"TIFF with {samples} samples of {bits} bits")
    bps = (bits + 7) // 8
    if 322 in tags or 323 in tags:  # the decoder holds one tile or strip of the source at a time
        buf_w, buf_h = tags.get(322, [width])[0], tags.get(323, [height])[0]
    else:
        buf_w, buf_h = width, min(tags.get(278, [height])[0], height)
    return _checked("tiff", width, height, samples, bps, buf_w * buf_h * samples * bps)


def _webp(b: bytes) -> ImageHeader:
    kind = b[12:16]
    if kind == b"VP8 ":
        if b[23:26] != b"\x9d\x01\x2a":
            raise _refuse("WebP VP8 frame without its start code")
        width, height = _uint(b, 26, 2, "little") & 0x3FFF, _uint(b, 28, 2, "little") & 0x3FFF
    elif kind == b"VP8L":
        if _uint(b, 20, 1, "little") != 0x2F:
            raise _refuse("WebP VP8L without its signature")
        bits = _uint(b, 21, 4, "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif kind == b"VP8X":
        if _uint(b, 20, 1, "little") & 0x02:
            raise _refuse("animated WebP is not supported")
        width, height = _uint(b, 24, 3, "little") + 1, _uint(b, 27, 3, "little") + 1
    else:
        raise _refuse(f"WebP with a {kind!r} chunk")
    return _checked("webp", width, height, 4, 1)
