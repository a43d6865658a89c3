"""Image bombs (issue 14, finding 5): the header is read and the pixel budget applied before any
decoder runs, on every path that decodes (bytes, folders, video sources, datasets, the command
line); the header reader refuses what it cannot read and never raises anything else."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspection import image_budget
from inspection.errors import ImageError, ImageTooLarge, SourceTooLarge, UnsupportedImage
from inspection.image_header import HEADER_LIMIT, read_header
from inspection.preprocess import DECODE_FLAGS, decode_image, to_gray
from tests.support.image_bombs import jpeg_bomb, png_bomb, png_chunk, png_header

REPO = Path(__file__).resolve().parents[2]
RSS_LIMIT_MB = 50


@pytest.fixture
def no_decoder(monkeypatch):
    """cv2.imdecode fails the test when called."""
    def refuse(*_a, **_k):
        pytest.fail("cv2.imdecode was called on an image over the budget")

    monkeypatch.setattr(cv2, "imdecode", refuse)


def bomb_guard(monkeypatch, bombs: list[bytes]):
    """cv2.imdecode works, but fails the test when handed one of `bombs`."""
    real = cv2.imdecode
    sizes = {len(b) for b in bombs}

    def guarded(buf, flags):
        if len(buf) in sizes:
            pytest.fail("cv2.imdecode was called on a bomb")
        return real(buf, flags)

    monkeypatch.setattr(cv2, "imdecode", guarded)


# -- the finding: refused before decoding, with little memory ---------------------------------

@pytest.mark.parametrize("make", [png_bomb, jpeg_bomb], ids=["png", "jpeg"])
def test_bomb_is_refused_before_decoding(make, no_decoder):
    data = make()
    assert len(data) < 200_000
    with pytest.raises(ImageTooLarge, match="12000x12000: over the side limit of 8192") as info:
        decode_image(data)
    assert info.value.code == "image_too_large" and info.value.exit_code == 2


RSS_PROBE = r"""
import json, sys, threading, psutil
from inspection.preprocess import decode_image
from tests.support.image_bombs import png_header
import cv2, numpy as np
for ext in (".png", ".jpg"):  # load the codecs first: their set-up is not the bomb's doing
    decode_image(cv2.imencode(ext, np.zeros((16, 16), np.uint8))[1].tobytes())
data = open(sys.argv[1], "rb").read()
proc = psutil.Process()
base = proc.memory_info().rss
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets the peak (VmHWM) to the current size
    hwm = True
except OSError:
    hwm = False
peak, done = [base], threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], proc.memory_info().rss)
        done.wait(0.0005)
t = threading.Thread(target=sample); t.start()
try:
    decode_image(data)
    code = None
except Exception as exc:
    code = getattr(exc, "code", type(exc).__name__)
done.set(); t.join()
if hwm:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            peak[0] = max(peak[0], int(line.split()[1]) * 1024)
print(json.dumps({"code": code, "growth_mb": (peak[0] - base) / 2**20}))
"""


def rss_growth(path: Path) -> dict:
    """Decode `path` in a fresh interpreter: the refusal's code and the peak RSS growth (MB)."""
    out = subprocess.run([sys.executable, "-c", RSS_PROBE, str(path)], cwd=REPO,
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("make", [png_bomb, jpeg_bomb], ids=["png", "jpeg"])
def test_bomb_refusal_keeps_memory_small(make, tmp_path):
    bomb = tmp_path / "bomb.bin"
    bomb.write_bytes(make())
    got = rss_growth(bomb)
    assert got["code"] == "image_too_large"
    assert got["growth_mb"] < RSS_LIMIT_MB, got  # the old path grew by about 150-280 MB


# -- the budgets ----------------------------------------------------------------------------

def test_side_pixel_and_byte_budgets(no_decoder):
    with pytest.raises(ImageTooLarge, match="side limit"):
        decode_image(png_header(8193, 16))
    with pytest.raises(ImageTooLarge, match="Mpx"):  # within the side limit, over the pixel budget
        decode_image(png_header(8192, 8192))
    with pytest.raises(ImageTooLarge, match="MiB to decode"):  # 30 Mpx of 16-bit RGBA: 229 MiB
        decode_image(png_header(6000, 5000, depth=16, colour=6))
    image_budget.check_size(8192, 4096, 8192 * 4096 * 3)  # a 32 Mpx colour frame passes


def test_too_large_decoded_frames_are_refused_too():
    with pytest.raises(ImageTooLarge):
        to_gray(np.zeros((9000, 8), np.uint8))
    with pytest.raises(ImageError, match="below 8"):
        to_gray(np.zeros((4, 4), np.uint8))


def test_decoding_still_gives_the_same_grey_pixels():
    """DECODE_FLAGS drop the alpha plane only: grey values are those of IMREAD_UNCHANGED."""
    rng = np.random.default_rng(3)
    bgra = rng.integers(0, 255, (40, 50, 4), np.uint8)
    bgr = bgra[:, :, :3]
    for ext, img in ((".png", bgra), (".png", bgr.astype(np.uint16) * 257), (".bmp", bgr),
                     (".tiff", bgra), (".jpg", bgr), (".webp", bgr)):
        data = cv2.imencode(ext, img)[1].tobytes()
        old = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        new = cv2.imdecode(np.frombuffer(data, np.uint8), DECODE_FLAGS)
        assert np.array_equal(to_gray(old), to_gray(new)), ext
        assert np.array_equal(decode_image(data), to_gray(old)), ext


# -- the header reader ----------------------------------------------------------------------

def _encoded(ext: str, img: np.ndarray, params: list[int] | None = None) -> bytes:
    return cv2.imencode(ext, img, params or [])[1].tobytes()


RNG = np.random.default_rng(4)
GREY = RNG.integers(0, 255, (30, 45), np.uint8)
SAMPLES = {
    "png-grey": _encoded(".png", GREY),
    "png-bgra16": _encoded(".png", np.dstack([GREY] * 4).astype(np.uint16) * 257),
    "jpeg-grey": _encoded(".jpg", GREY),
    "jpeg-colour": _encoded(".jpg", np.dstack([GREY] * 3)),
    "jpeg-progressive": _encoded(".jpg", np.dstack([GREY] * 3), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
    "bmp": _encoded(".bmp", np.dstack([GREY] * 3)),
    "bmp-grey": _encoded(".bmp", GREY),
    "tiff": _encoded(".tiff", np.dstack([GREY] * 3)),
    "tiff-grey16": _encoded(".tiff", GREY.astype(np.uint16) * 257),
    "webp": _encoded(".webp", np.dstack([GREY] * 3)),
    "webp-lossy": _encoded(".webp", np.dstack([GREY] * 3), [cv2.IMWRITE_WEBP_QUALITY, 80]),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_header_matches_the_decoder(name):
    data = SAMPLES[name]
    h = read_header(data)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), DECODE_FLAGS)
    assert (h.height, h.width) == img.shape[:2] == (30, 45)
    assert h.decoded_bytes >= img.nbytes
    assert (h.work_bytes > 0) == (name in ("jpeg-progressive", "tiff", "tiff-grey16"))


def test_jpeg_frame_header_after_app_segments():
    data = SAMPLES["jpeg-grey"]
    app = b"\xff\xe1" + struct.pack(">H", 60002) + b"\x00" * 60000  # an EXIF-sized APP1, twice
    assert read_header(data[:2] + app + app + b"\xff\xff" + data[2:]).width == 45
    with pytest.raises(UnsupportedImage, match="header ends early"):  # beyond the bounded prefix
        read_header(data[:2] + app * (HEADER_LIMIT // len(app) + 1) + data[2:])


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a" + b"\x00" * 40,
        b"P5\n12000 12000\n255\n" + b"\x00" * 40,  # PGM: OpenCV would decode it
        b"#?RADIANCE\n" + b"\x00" * 40,
        b"II+\x00" + b"\x00" * 40,  # BigTIFF
        b"\xff\xd8\xff\xda\x00\x08" + b"\x00" * 40,  # scan before any frame header
        b"\xff\xd8\xff\xc0\x00\x11\x08\x00\x00\x00\x10\x01" + b"\x00" * 40,  # height from DNL
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"BM" + b"\x00" * 40,
        b"RIFF\x00\x00\x00\x00WEBPVP8X" + b"\x00" * 4 + b"\x02" + b"\x00" * 20,  # animated
        png_header(100, 100)[:33] + png_chunk(b"acTL", b"\x00" * 8) + png_header(100, 100)[33:],
        png_header(100, 100, depth=3, colour=2),
        b"",
    ],
)
def test_unknown_or_unusual_headers_are_refused(data, no_decoder):
    with pytest.raises(UnsupportedImage) as info:
        read_header(data)
    assert info.value.code == "unsupported_image"
    assert str(info.value).startswith("unsupported image: ")
    if data:
        with pytest.raises(ImageError):
            decode_image(data)


def _check_reader(data: bytes) -> None:
    try:
        h = read_header(data)
    except UnsupportedImage:
        return
    assert h.width > 0 and h.height > 0 and h.decoded_bytes >= h.pixels


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=512))
def test_header_reader_fuzz_random_bytes(data):
    _check_reader(data)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(sorted(SAMPLES)), st.integers(0, 4000), st.binary(min_size=1, max_size=16),
       st.integers(0, 4000))
def test_header_reader_fuzz_damaged_headers(name, at, junk, cut):
    data = bytearray(SAMPLES[name])
    pos = at % len(data)
    data[pos:pos + len(junk)] = junk
    _check_reader(bytes(data))
    _check_reader(bytes(data[: cut % (len(data) + 1)]))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"II*\x00", b"MM\x00*",
                        b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"RIFF\x00\x00\x00\x00WEBPVP8L",
                        b"RIFF\x00\x00\x00\x00WEBPVP8X"]), st.binary(max_size=256))
def test_header_reader_fuzz_known_signatures(signature, rest):
    _check_reader(signature + rest)


# -- every decoder path ---------------------------------------------------------------------

def test_folder_source_bomb_is_a_bad_frame(tmp_path, monkeypatch, untrained_model, sample_files):
    from inspection.engine import BadFrame, InferenceEngine, InspectionResult, Inspector
    from inspection.model import load_model
    from inspection.orders import Order
    from inspection.sources import open_source, read_frames

    bomb = png_bomb()
    (tmp_path / "a_bomb.png").write_bytes(bomb)
    (tmp_path / "b_jpeg_bomb.jpg").write_bytes(jpeg_bomb())
    shutil.copyfile(sample_files[0], tmp_path / "c_good.jpg")
    bomb_guard(monkeypatch, [bomb, jpeg_bomb()])
    engine = InferenceEngine(load_model(untrained_model), "cpu")
    insp = Inspector(engine, Order("P-1", 500, {"crazing": 100}))
    src = open_source(str(tmp_path))
    src.open()
    out = insp.inspect(read_frames(src, 10))
    assert [type(r) for r in out] == [BadFrame, BadFrame, InspectionResult]
    assert all("over the side limit of 8192" in r.reason for r in out[:2])


def test_inspect_command_skips_a_bomb(run_cli, tmp_path, monkeypatch, sample_files):
    bomb = png_bomb()
    (tmp_path / "a_bomb.png").write_bytes(bomb)
    shutil.copyfile(sample_files[0], tmp_path / "b_good.jpg")
    bomb_guard(monkeypatch, [bomb])
    code, out, err = run_cli("inspect", "--source", str(tmp_path), "--no-store")
    assert code == 0, err  # a bad frame is skipped and counted, as before
    assert "skipped bad frame a_bomb.png: PNG image is 12000x12000: over the side limit" in err
    assert "bad frames 1" in err and len(out.splitlines()) == 1


class FakeCapture:
    """A cv2.VideoCapture stand-in reporting `size`; reading a frame fails the test unless the
    capture was made with `frame`."""

    size = (12000, 12000)
    frame: np.ndarray | None = None
    released = False

    def __init__(self, target) -> None:
        self.target = target

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV API
        return True

    def get(self, prop) -> float:
        sizes = {cv2.CAP_PROP_FRAME_WIDTH: self.size[0], cv2.CAP_PROP_FRAME_HEIGHT: self.size[1]}
        return sizes.get(prop, 0.0)

    def set(self, prop, value) -> bool:
        return True

    def read(self):
        if self.frame is None:
            pytest.fail("a frame was read from a source over the budget")
        return True, self.frame

    def release(self) -> None:
        FakeCapture.released = True


STREAMS = ["camera:0", "rtsp://cam.example/stream", "http://cam.example/mjpg"]


@pytest.mark.parametrize("spec", STREAMS)
@pytest.mark.parametrize("size", [(12000, 12000), (8000, 8000), (float("inf"), 100)],
                         ids=["side", "pixels", "infinite"])
def test_video_source_over_budget_is_refused_before_reading(spec, size, monkeypatch):
    from inspection.sources import open_source

    monkeypatch.setattr(FakeCapture, "size", size)
    monkeypatch.setattr(FakeCapture, "released", False)
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    src = open_source(spec)
    with pytest.raises(SourceTooLarge, match=f"a frame of {spec} is ") as info:
        src.open()
    assert info.value.code == "image_too_large" and FakeCapture.released


@pytest.mark.parametrize("unknown", [0.0, -1.0, float("nan")])
def test_frame_over_budget_from_a_source_of_unknown_size(unknown, monkeypatch):
    from inspection.sources import open_source

    monkeypatch.setattr(FakeCapture, "size", (unknown, unknown))  # the back end does not know
    monkeypatch.setattr(FakeCapture, "frame", np.zeros((9000, 16, 3), np.uint8))
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    src = open_source("camera:1")
    src.open()
    with pytest.raises(SourceTooLarge, match="9000"):
        src.read()


@pytest.fixture
def wide_video(tmp_path) -> Path:
    """A real MJPG video of 9000 x 16 frames (over the side limit, a few KB)."""
    path = tmp_path / "wide.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (9000, 16))
    assert w.isOpened(), "opencv-python-headless writes MJPG .avi files"
    for _ in range(3):
        w.write(np.zeros((16, 9000, 3), np.uint8))
    w.release()
    return path


def test_video_file_over_budget(wide_video, run_cli):
    from inspection.sources import open_source

    with pytest.raises(SourceTooLarge, match="9000x16: over the side limit"):
        open_source(str(wide_video)).open()
    code, _, err = run_cli("inspect", "--source", str(wide_video), "--no-store")
    [line] = [x for x in err.splitlines() if x.startswith("bcmlp: error:")]
    assert code == 2 and line.startswith("bcmlp: error: a frame of") and "9000x16" in line
    code, _, err = run_cli("inspect", "--source", str(wide_video), "--no-store", "--rate", "5",
                           "--timeout", "1")
    assert code == 2 and "9000x16" in err


def test_dataset_loading_skips_a_bomb(tmp_path, monkeypatch, sample_files):
    from inspection.dataset import load_arrays, scan
    from inspection.preprocess import DEFAULT_PREPROCESS

    bomb = png_bomb()
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        shutil.copyfile(sample_files[0], tmp_path / cls / "good.jpg")
    (tmp_path / "a" / "bomb.png").write_bytes(bomb)
    (tmp_path / "b" / "big.png").write_bytes(b"\x00" * (image_budget.MAX_IMAGE_BYTES + 1))
    bomb_guard(monkeypatch, [bomb])
    start = time.monotonic()
    x, y, skipped = load_arrays(scan(tmp_path).samples, DEFAULT_PREPROCESS)
    assert x.shape[0] == 2 and list(y) == [0, 1]
    assert any(s.startswith("a/bomb.png: PNG image is 12000x12000") for s in skipped)
    assert any(s.startswith("b/big.png: image file of") for s in skipped)
    assert time.monotonic() - start < 10
