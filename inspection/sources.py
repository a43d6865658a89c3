"""Frame sources behind one interface, and the capture thread that feeds a latest-frame mailbox.

Sources (`open_source(spec)`):
- `camera:N`: a local camera by index (OpenCV);
- `rtsp://...`, `http(s)://...`: a network stream (OpenCV/FFmpeg);
- a video file (`.avi`, `.mp4`, `.mkv`, ...);
- a folder of images (or one image file) replayed in name order at a set rate, optionally looping
  (video files too; cameras and streams run at their own rate).

Every frame carries a source time stamp (ns since the epoch, taken when it was read) and a
workpiece id from the source: the file name for image folders, `<video stem>#<frame number>` for
video files and `<source>#<counter>` for cameras and streams. Image files are handed on as
their encoded bytes (decoding is the pipeline's job, so a corrupt file is one bad frame,
counted, not a dead source).

Pixel budget (`inspection.image_budget`): a video source whose frame size (from the capture
properties) is over the budget is refused when it opens, before any frame is read, and a frame
read later that is over it (a stream changing size) ends the read with the same refusal
(`SourceTooLarge`, code `image_too_large`); image files are checked where they are decoded.

`Capture` runs one source on its own thread: a lost source is reported through the status
callback and reopened with exponential back-off; callers never block on it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from inspection.errors import ImageTooLarge, SourceError, SourceTooLarge
from inspection.image_budget import MAX_IMAGE_BYTES, check_size
from inspection.mailbox import Mailbox

VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".m4v", ".webm", ".mjpg", ".mjpeg")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
STREAM_PREFIXES = ("rtsp://", "rtsps://", "http://", "https://")
MAX_IMAGE_FILE = MAX_IMAGE_BYTES


@dataclass(frozen=True)
class Frame:
    """One captured frame: decoded pixels (`image`) or the encoded file (`data`), not both."""

    workpiece_id: str
    source_time_ns: int
    seq: int
    source: str
    image: np.ndarray | None = None
    data: bytes | None = None


class FrameSource(Protocol):
    name: str
    live: bool  # a camera or stream: a failed read means the source was lost

    def open(self) -> None: ...
    def read(self) -> Frame | None: ...  # None: the end of a finite source
    def close(self) -> None: ...


class _Paced:
    """Holds frames back to `rate` per second (None or 0: as fast as they are asked for)."""

    def __init__(self, rate: float | None) -> None:
        self.period = (1.0 / rate) if rate else 0.0
        self._next = 0.0

    def wait(self, stop: threading.Event | None = None) -> None:
        if not self.period:
            return
        now = time.monotonic()
        if self._next > now:
            if stop is not None:
                stop.wait(self._next - now)
            else:
                time.sleep(self._next - now)
        # behind schedule: start a new schedule rather than bursting to catch up
        self._next = max(self._next, now) + self.period


class FolderSource:
    """Images from a folder (or one file) in name order; `loop` starts over at the end."""

    live = False

    def __init__(self, path: Path, rate: float | None = None, loop: bool = False) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self.loop = loop
        self._pace = _Paced(rate)
        self._files: list[Path] = []
        self._i = 0
        self._seq = 0
        self.stop_event: threading.Event | None = None

    def open(self) -> None:
        if self.path.is_file():
            self._files = [self.path]
        elif self.path.is_dir():
            self._files = sorted(
                (p for p in self.path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                key=lambda p: str(p.relative_to(self.path)),
            )
        else:
            raise SourceError(f"image folder {self.path} does not exist")
        if not self._files:
            raise SourceError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {self.path}")
        self._i = 0

    def read(self) -> Frame | None:
        if self._i >= len(self._files):
            if not self.loop:
                return None
            self._i = 0
        f = self._files[self._i]
        self._i += 1
        self._pace.wait(self.stop_event)
        try:
            size = f.stat().st_size
            data = b"" if size > MAX_IMAGE_FILE else f.read_bytes()
        except OSError:
            data = b""  # unreadable file: an empty frame that the pipeline rejects and counts
        self._seq += 1
        return Frame(f.name, time.time_ns(), self._seq, self.name, data=data)

    def close(self) -> None:
        self._files = []


def _frame_prop(cap: cv2.VideoCapture, prop: int) -> int:
    """A frame size property as pixels: 0 when the back end does not know it (0, negative, NaN)."""
    value = cap.get(prop)
    return 0 if value != value or value <= 0 else int(min(value, 1 << 31))


class VideoSource:
    """A camera (`camera:N`), a stream URL or a video file through OpenCV."""

    def __init__(self, spec: str, rate: float | None = None, loop: bool = False) -> None:
        self.spec = spec
        self.name = spec
        self.loop = loop
        self._cap: cv2.VideoCapture | None = None
        self._seq = 0
        self._frame_no = 0
        self.stop_event: threading.Event | None = None
        if spec.startswith("camera:"):
            try:
                self._target: int | str = int(spec.split(":", 1)[1])
            except ValueError:
                raise SourceError(f"bad camera spec {spec!r}: use camera:N") from None
            self.live = True
            self._prefix = spec
        elif spec.lower().startswith(STREAM_PREFIXES):
            self._target = spec
            self.live = True
            self._prefix = spec
        else:
            self._target = spec
            self.live = False
            self._prefix = Path(spec).stem
        # a live source sets its own pace: holding reads back would only let its buffer go stale
        self._pace = _Paced(None if self.live else rate)

    def open(self) -> None:
        if not self.live and not Path(str(self._target)).is_file():
            raise SourceError(f"video file {self._target} does not exist")
        cap = cv2.VideoCapture(self._target)
        if not cap.isOpened():
            cap.release()
            what = "camera" if isinstance(self._target, int) else "video source"
            raise SourceError(f"cannot open {what} {self.spec}")
        try:  # 0 x 0: the back end does not know yet; each frame is checked as it is read
            self._check_size(_frame_prop(cap, cv2.CAP_PROP_FRAME_WIDTH),
                             _frame_prop(cap, cv2.CAP_PROP_FRAME_HEIGHT))
        except SourceTooLarge:
            cap.release()
            raise
        if not self.live:
            ok, first = cap.read()
            if not ok or first is None:
                cap.release()
                raise SourceError(f"cannot read any frame from video {self.spec}")
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._cap = cap
        self._frame_no = 0

    def read(self) -> Frame | None:
        if self._cap is None:
            raise SourceError(f"{self.spec} is not open")
        self._pace.wait(self.stop_event)
        ok, img = self._cap.read()
        if not ok or img is None:
            if self.live:
                raise SourceError(f"lost {self.spec}: no frame")
            if not self.loop or self._frame_no == 0:
                return None
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._frame_no = 0
            ok, img = self._cap.read()
            if not ok or img is None:
                return None
        self._check_size(img.shape[1], img.shape[0])
        self._frame_no += 1
        self._seq += 1
        wid = f"{self._prefix}#{self._frame_no if not self.live else self._seq}"
        return Frame(wid, time.time_ns(), self._seq, self.name, image=img)

    def _check_size(self, width: int, height: int) -> None:
        try:
            check_size(width, height, width * height * 3, f"a frame of {self.spec}")
        except ImageTooLarge as exc:
            raise SourceTooLarge(str(exc)) from None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def open_source(spec: str, rate: float | None = None, loop: bool = False) -> FrameSource:
    """A source for `spec` (not opened yet); SourceError when the spec names nothing usable."""
    spec = spec.strip()
    if not spec:
        raise SourceError("empty source")
    if rate is not None and rate < 0:
        raise SourceError("rate must not be negative")
    if spec.startswith("camera:") or spec.lower().startswith(STREAM_PREFIXES):
        return VideoSource(spec, rate, loop)
    p = Path(spec).expanduser()
    if p.is_dir() or (p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
        return FolderSource(p, rate, loop)
    if p.is_file():
        return VideoSource(str(p), rate, loop)
    raise SourceError(
        f"source {spec!r} is not camera:N, a stream URL, an existing video file or image folder"
    )


def read_frames(src: FrameSource, n: int) -> list[Frame]:
    """The next `n` frames of an open source (fewer at the end of a finite one)."""
    frames: list[Frame] = []
    while len(frames) < n:
        f = src.read()
        if f is None:
            break
        frames.append(f)
    return frames


@dataclass(frozen=True)
class SourceStatus:
    """state: connecting, running, lost (with the error), retrying (attempt, delay), ended, stopped."""

    state: str
    source: str
    message: str = ""
    attempt: int = 0
    delay_s: float = 0.0


class Capture:
    """Reads one source on its own thread into a mailbox; reconnects with back-off when lost."""

    def __init__(
        self,
        source: FrameSource,
        mailbox: Mailbox[Frame],
        on_status: Callable[[SourceStatus], None] | None = None,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 8.0,
        max_attempts: int | None = None,
    ) -> None:
        self.source = source
        self.mailbox = mailbox
        self.on_status = on_status or (lambda s: None)
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.max_attempts = max_attempts
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames = 0
        self.state = "idle"
        self._times: list[float] = []
        if hasattr(source, "stop_event"):
            source.stop_event = self._stop  # pacing waits wake up on stop

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("capture already started")
        self._thread = threading.Thread(target=self._run, name=f"capture {self.source.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the thread to stop and join it; True when it has ended."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def fps(self) -> float:
        """Frames per second over the last frames (0 when fewer than two)."""
        t = self._times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) >= 2 and t[-1] > t[0] else 0.0

    def _status(self, state: str, message: str = "", attempt: int = 0, delay: float = 0.0) -> None:
        self.state = state
        try:
            self.on_status(SourceStatus(state, self.source.name, message, attempt, delay))
        except Exception:  # noqa: BLE001 - a faulty listener must not kill capture
            pass

    def _run(self) -> None:
        attempt = 0
        try:
            while not self._stop.is_set():
                self._status("connecting", attempt=attempt)
                try:
                    self.source.open()
                except Exception as exc:  # noqa: BLE001 - SourceError, or whatever a back end raises
                    attempt += 1
                    if not self._retry(str(exc), attempt):
                        return
                    continue
                self._status("running")
                attempt = 0
                try:
                    while not self._stop.is_set():
                        frame = self.source.read()
                        if frame is None:
                            self._status("ended", "end of source")
                            return
                        self.frames += 1
                        self._times = (self._times + [time.monotonic()])[-30:]
                        self.mailbox.put(frame)
                except SourceError as exc:
                    self.source.close()
                    attempt += 1
                    if not self._retry(str(exc), attempt):
                        return
                except Exception as exc:  # noqa: BLE001 - OpenCV back ends can raise anything
                    self.source.close()
                    attempt += 1
                    if not self._retry(f"source error: {exc}", attempt):
                        return
        finally:
            self.source.close()
            if self.state not in ("ended", "failed"):
                self._status("stopped")
            self.mailbox.close()

    def _retry(self, message: str, attempt: int) -> bool:
        if self.max_attempts is not None and attempt >= self.max_attempts:
            self._status("failed", message, attempt)
            return False
        delay = min(self.backoff_max_s, self.backoff_initial_s * 2 ** (attempt - 1))
        self._status("lost", message, attempt, delay)
        self._status("retrying", message, attempt, delay)
        return not self._stop.wait(delay)
