"""The pixel budget every image and frame passes before it is decoded (or, for a video source,
before its first frame is read).

Limits: at most `MAX_SIDE` pixels a side, `MAX_PIXELS` pixels in all and `MAX_DECODED_BYTES` of
decoder memory (output plus working buffers, as `inspection.image_header` estimates them).
The model input is at most 1024 x 1024, so 32 Mpx covers every camera the station is meant for
(a 25 Mpx area camera, an 8192 x 4096 line-scan tile) with room; a 16-bit colour image is held to
about 22 Mpx by the byte budget.

`check_encoded(data)` reads the header of encoded bytes and applies the budget: the one gate in
front of `cv2.imdecode` and Qt's image readers. `check_size` applies it to a known size (capture
properties, decoded frames). Refusals are `ImageTooLarge` (code `image_too_large`) or, for a
header that cannot be read, `UnsupportedImage` (code `unsupported_image`).
"""

from __future__ import annotations

from inspection.errors import ImageError, ImageTooLarge
from inspection.image_header import ImageHeader, read_header

MAX_IMAGE_BYTES = 32 * 1024 * 1024  # encoded file
MAX_SIDE = 8192
MAX_PIXELS = 8192 * 4096
MAX_DECODED_BYTES = 128 * 1024 * 1024


def check_size(
    width: int, height: int, decoded_bytes: int | None = None, what: str = "image"
) -> None:
    """ImageTooLarge when `width` x `height` (or `decoded_bytes`) is over the budget."""
    if width > MAX_SIDE or height > MAX_SIDE:
        raise ImageTooLarge(f"{what} is {width}x{height}: over the side limit of {MAX_SIDE} pixels")
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(f"{what} is {width}x{height} ({width * height / 1e6:.1f} Mpx): "
                            f"over the budget of {MAX_PIXELS / 1e6:.1f} Mpx")
    if decoded_bytes is not None and decoded_bytes > MAX_DECODED_BYTES:
        mib = decoded_bytes / 2**20
        raise ImageTooLarge(f"{what} is {width}x{height} and would take {mib:.0f} MiB to decode: "
                            f"over the budget of {MAX_DECODED_BYTES // 2**20} MiB")


def check_encoded(data: bytes | bytearray | memoryview) -> ImageHeader:
    """The header of encoded image bytes once they pass the budget; ImageError otherwise."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageTooLarge(
            f"image file of {len(data)} bytes exceeds the limit of {MAX_IMAGE_BYTES}"
        )
    if not len(data):
        raise ImageError("empty image file")
    header = read_header(data)
    check_size(header.width, header.height, header.decoded_bytes, f"{header.format.upper()} image")
    return header
