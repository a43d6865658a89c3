"""Frame codec: round trips in any split, garbage, and oversized lengths (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_core.net.framing import HEADER_BYTES, FrameDecoder, FrameError, encode_frame

MAX = 1024


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks, last = [], 0
    for p in points + [len(data)]:
        chunks.append(data[last:p])
        last = p
    return chunks


@settings(max_examples=200, deadline=None)
@given(
    bodies=st.lists(st.binary(max_size=MAX), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
def test_round_trip_in_any_split(bodies: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(encode_frame(b, MAX) for b in bodies)
    dec = FrameDecoder(MAX)
    out: list[bytes] = []
    for chunk in _split(stream, cuts):
        out.extend(dec.feed(chunk))
    assert out == bodies
    assert dec.pending == 0


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=4096), cuts=st.lists(st.integers(0, 5000), max_size=8))
def test_random_bytes_give_frames_that_reencode_to_a_prefix(data: bytes, cuts: list[int]) -> None:
    dec = FrameDecoder(MAX)
    frames: list[bytes] = []
    try:
        for chunk in _split(data, cuts):
            frames.extend(dec.feed(chunk))
    except FrameError as exc:
        assert exc.code == "oversized"
        # the refused length is the first header after the good frames
        consumed = sum(HEADER_BYTES + len(f) for f in frames)
        assert int.from_bytes(data[consumed : consumed + 4], "big") > MAX
        return
    consumed = b"".join(encode_frame(f, MAX) for f in frames)
    assert data.startswith(consumed)
    assert dec.pending == len(data) - len(consumed)


@given(length=st.integers(min_value=MAX + 1, max_value=2**32 - 1), tail=st.binary(max_size=64))
def test_oversized_length_fails_at_once_and_decoder_stays_dead(length: int, tail: bytes) -> None:
    dec = FrameDecoder(MAX)
    assert dec.feed(encode_frame(b"ok", MAX)) == [b"ok"]
    with pytest.raises(FrameError) as info:
        dec.feed(length.to_bytes(4, "big") + tail)
    assert info.value.code == "oversized"
    assert dec.pending == 0  # nothing of the refused body is buffered
    with pytest.raises(FrameError) as again:
        dec.feed(encode_frame(b"ok", MAX))
    assert again.value.code == "closed"


def test_limits() -> None:
    assert encode_frame(b"x" * MAX, MAX)[:4] == MAX.to_bytes(4, "big")
    with pytest.raises(FrameError):
        encode_frame(b"x" * (MAX + 1), MAX)
    assert FrameDecoder(MAX).feed(encode_frame(b"", MAX)) == [b""]
    dec = FrameDecoder(MAX)
    assert dec.feed(b"\x00\x00\x00\x05abc") == []
    assert dec.pending == 7
    assert dec.feed(b"de\x00") == [b"abcde"]
    with pytest.raises(ValueError):
        FrameDecoder(-1)


def test_max_frame_can_change_between_frames() -> None:
    dec = FrameDecoder(4)
    dec.push(encode_frame(b"abcd", 10) + encode_frame(b"0123456789", 10))
    assert dec.next_frame() == b"abcd"
    dec.max_frame = 10
    assert dec.next_frame() == b"0123456789"
    assert dec.next_frame() is None


@settings(max_examples=100, deadline=None)
@given(bodies=st.lists(st.binary(max_size=MAX), min_size=1, max_size=4))
def test_reading_what_needed_asks_for_takes_one_frame_at_a_time(bodies: list[bytes]) -> None:
    stream = b"".join(encode_frame(b, MAX) for b in bodies)
    pos = 0
    for body in bodies:
        dec = FrameDecoder(MAX)
        while (frame := dec.next_frame()) is None:
            assert dec.needed > 0
            step = min(dec.needed, 3)  # a short read, as a socket may give
            dec.push(stream[pos : pos + step])
            pos += step
        assert frame == body and dec.needed == HEADER_BYTES and dec.pending == 0
    assert pos == len(stream)


def test_needed_is_zero_for_a_length_to_refuse() -> None:
    dec = FrameDecoder(MAX)
    assert dec.needed == HEADER_BYTES
    dec.push((MAX + 1).to_bytes(4, "big"))
    assert dec.needed == 0
    with pytest.raises(FrameError):
        dec.next_frame()
