"""Frame sources (folders, video files standing in for cameras), the mailbox and capture."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from inspection.errors import SourceError
from inspection.mailbox import Mailbox
from inspection.sources import Capture, FolderSource, VideoSource, open_source, read_frames


def write_video(path, n=12, fourcc="MJPG", size=(96, 80)):
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 30, size)
    assert vw.isOpened(), f"cannot write {fourcc} video here"
    for i in range(n):
        img = np.full((size[1], size[0], 3), (i * 20) % 255, np.uint8)
        vw.write(img)
    vw.release()
    return path


def test_mailbox_newest_wins_and_counts_drops():
    m: Mailbox[int] = Mailbox()
    assert m.put(1) is True
    assert m.put(2) is False and m.put(3) is False
    assert m.dropped == 2 and m.get(0) == 3 and m.get(0) is None


def test_mailbox_close_wakes_waiter():
    m: Mailbox[int] = Mailbox()
    got = []
    t = threading.Thread(target=lambda: got.append(m.get(timeout=10)))
    t.start()
    time.sleep(0.05)
    m.close()
    t.join(2)
    assert not t.is_alive() and got == [None]


def test_folder_source_order_ids_and_loop(sample_files, samples):
    src = FolderSource(samples, loop=True)
    src.open()
    frames = [src.read() for _ in range(len(sample_files) + 2)]
    assert [f.workpiece_id for f in frames[:3]] == [p.name for p in sample_files[:3]]
    assert frames[len(sample_files)].workpiece_id == sample_files[0].name  # looped
    assert frames[0].data == sample_files[0].read_bytes() and frames[0].image is None
    assert all(f.source_time_ns > 0 for f in frames)
    once = FolderSource(sample_files[0])
    once.open()
    assert once.read() is not None and once.read() is None


def test_read_frames_stops_at_the_end(sample_files, samples):
    src = FolderSource(samples)
    src.open()
    first = read_frames(src, 2)
    rest = read_frames(src, len(sample_files) + 5)
    assert [f.workpiece_id for f in first + rest] == [p.name for p in sample_files]
    assert read_frames(src, 3) == []


def test_folder_source_rate(samples):
    src = FolderSource(samples, rate=50)
    src.open()
    t = time.monotonic()
    for _ in range(11):
        src.read()
    assert time.monotonic() - t >= 0.18  # 10 periods of 20 ms


@pytest.mark.parametrize(("name", "fourcc"), [("v.avi", "MJPG"), ("v.mp4", "mp4v")])
def test_video_file_frames(tmp_path, name, fourcc):
    path = write_video(tmp_path / name, fourcc=fourcc)
    src = open_source(str(path))
    assert isinstance(src, VideoSource) and not src.live
    src.open()
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    src.close()
    assert len(frames) == 12
    assert frames[0].workpiece_id == "v#1" and frames[-1].workpiece_id == "v#12"
    assert frames[0].image.shape == (80, 96, 3)


def test_video_loop(tmp_path):
    src = open_source(str(write_video(tmp_path / "l.avi", n=3)), loop=True)
    src.open()
    ids = [src.read().workpiece_id for _ in range(5)]
    assert ids == ["l#1", "l#2", "l#3", "l#1", "l#2"]


def test_unreadable_video_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00AVI garbage" * 10)
    with pytest.raises(SourceError):
        open_source(str(bad)).open()


@pytest.mark.parametrize("spec", ["", "nowhere/at/all.avi", "camera:x"])
def test_bad_specs(spec):
    with pytest.raises(SourceError):
        open_source(spec).open()


def test_missing_camera_is_a_clear_error():
    with pytest.raises(SourceError, match="cannot open camera"):
        open_source("camera:97").open()


def test_capture_reports_lost_source_and_retries(tmp_path):
    statuses = []
    box: Mailbox = Mailbox()
    cap = Capture(open_source("camera:98"), box, statuses.append, backoff_initial_s=0.01,
                  max_attempts=3)
    cap.start()
    deadline = time.monotonic() + 10
    while cap.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cap.stop(timeout=1)
    states = [s.state for s in statuses]
    assert states.count("lost") == 2 and states[-1] == "failed"
    delays = [s.delay_s for s in statuses if s.state == "lost"]
    assert delays == [0.01, 0.02]  # exponential back-off
    assert box.closed


def test_capture_feeds_mailbox_and_stops_quickly(tmp_path):
    path = write_video(tmp_path / "cam.avi", n=5)
    box: Mailbox = Mailbox()
    statuses = []
    cap = Capture(open_source(str(path), rate=200, loop=True), box, statuses.append)
    cap.start()
    got = [box.get(timeout=2) for _ in range(5)]
    assert all(f is not None for f in got)
    t = time.monotonic()
    assert cap.stop(timeout=3)
    assert time.monotonic() - t < 1.0
    assert "running" in [s.state for s in statuses] and cap.frames >= 5
    assert cap.fps() > 0


def test_capture_of_finite_source_ends(samples):
    box: Mailbox = Mailbox()
    statuses = []
    cap = Capture(FolderSource(samples), box, statuses.append)
    cap.start()
    deadline = time.monotonic() + 10
    while cap.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [s.state for s in statuses][-1] == "ended"
    assert box.put_count == 60 and box.closed


def test_http_stream_on_loopback(tmp_path):
    """A video served over HTTP on 127.0.0.1 stands in for a network camera stream."""
    import functools
    import http.server

    write_video(tmp_path / "cam.avi", n=20, size=(160, 120))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        src = open_source(f"http://127.0.0.1:{server.server_address[1]}/cam.avi")
        assert isinstance(src, VideoSource) and src.live
        try:
            src.open()
        except SourceError:
            pytest.skip("this OpenCV build cannot read HTTP streams")
        frames = [src.read() for _ in range(5)]
        src.close()
        assert [f.workpiece_id.rsplit("#", 1)[1] for f in frames] == ["1", "2", "3", "4", "5"]
        assert frames[0].image.shape == (120, 160, 3)
    finally:
        server.shutdown()
        server.server_close()
