"""Preprocessing configuration digest, canonical JSON, image decoding and bad images."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock.canonical import EncodingError, canonical, digest_hex
from inspection.errors import ImageError
from inspection.preprocess import (
    DEFAULT_PREPROCESS,
    PreprocessConfig,
    decode_image,
    normalise,
    stack,
    to_gray,
    to_model_input,
)
from tests.support.inspection_data import jpeg_bytes


def test_digest_is_sha256_of_canonical_config():
    import hashlib

    d = DEFAULT_PREPROCESS.to_dict()
    assert DEFAULT_PREPROCESS.digest == hashlib.sha256(canonical(d)).hexdigest()
    assert all(type(v) in (int, str, bool) for v in d.values())
    assert PreprocessConfig.from_dict(d) == DEFAULT_PREPROCESS


@pytest.mark.parametrize(
    "change", [{"width": 65}, {"height": 32}, {"std_floor_milli": 2000}, {"version": 2}]
)
def test_every_field_changes_the_digest(change):
    assert dataclasses.replace(DEFAULT_PREPROCESS, **change).digest != DEFAULT_PREPROCESS.digest


@pytest.mark.parametrize(
    "bad", [{"width": 0}, {"width": 64.0}, {"grayscale": False}, {"normalisation": "x"},
            {"interpolation": "cubic"}, {"height": 5000}]
)
def test_bad_config_is_refused(bad):
    with pytest.raises(ValueError):
        PreprocessConfig(**bad)
    with pytest.raises(ValueError):
        PreprocessConfig.from_dict({**DEFAULT_PREPROCESS.to_dict(), **bad})


def test_from_dict_rejects_unknown_kind_and_fields():
    with pytest.raises(ValueError):
        PreprocessConfig.from_dict({"kind": "other"})
    with pytest.raises(ValueError):
        PreprocessConfig.from_dict({**DEFAULT_PREPROCESS.to_dict(), "extra": 1})


def test_canonical_refuses_floats():
    with pytest.raises(EncodingError):
        digest_hex({"a": 0.5})


def test_decode_sample(sample_files):
    g = decode_image(sample_files[0].read_bytes())
    assert g.dtype == np.uint8 and g.ndim == 2 and g.shape == (200, 200)
    x = to_model_input(g)
    assert x.shape == (DEFAULT_PREPROCESS.height, DEFAULT_PREPROCESS.width)


def test_truncated_jpeg_is_refused(sample_files):
    data = sample_files[0].read_bytes()
    with pytest.raises(ImageError, match="truncated"):
        decode_image(data[: len(data) // 2])


@pytest.mark.parametrize("data", [b"", b"not an image", b"\xff\xd8\xff" + b"\x00" * 50 + b"\xff\xd9",
                                  b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_corrupt_bytes_are_refused(data):
    with pytest.raises(ImageError):
        decode_image(data)


@pytest.mark.parametrize(
    "frame",
    [np.zeros((64, 64, 2), np.uint8), np.zeros((64, 64, 5), np.uint8), np.zeros((4, 4), np.uint8),
     np.zeros((64, 64), np.float32), np.zeros((2, 64, 64, 3), np.uint8), np.zeros(10, np.uint8)],
)
def test_wrong_shapes_and_channels_are_refused(frame):
    with pytest.raises(ImageError):
        to_gray(frame)


def test_colour_alpha_and_16bit_frames_convert():
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 255, (120, 90, 3), dtype=np.uint8)
    assert to_gray(bgr).shape == (120, 90)
    assert to_gray(np.dstack([bgr, bgr[:, :, :1]])).shape == (120, 90)
    assert to_gray(bgr[:, :, 0].astype(np.uint16) << 8).max() == bgr[:, :, 0].max()
    assert to_model_input(bgr).shape == (DEFAULT_PREPROCESS.height, DEFAULT_PREPROCESS.width)


def test_normalise_is_blind_to_brightness_and_contrast():
    rng = np.random.default_rng(1)
    img = rng.integers(40, 200, (3, 64, 64)).astype(np.uint8)
    a = normalise(stack(list(img)))
    b = normalise(stack(list(img)).float() * 0.6 + 30)
    assert a.shape == (3, 1, 64, 64)
    assert float((a - b).abs().max()) < 1e-4
    flat = normalise(stack([np.full((64, 64), 128, np.uint8)]))
    assert float(flat.abs().max()) == 0.0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_decoding_random_bytes_never_crashes(data):
    try:
        g = decode_image(data)
    except ImageError:
        return
    assert g.dtype == np.uint8 and g.ndim == 2


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 4000), st.binary(min_size=1, max_size=64))
def test_damaged_jpeg_never_crashes(cut, junk):
    rng = np.random.default_rng(2)
    data = bytearray(jpeg_bytes(rng.integers(0, 255, (40, 40), dtype=np.uint8)))
    pos = cut % len(data)
    data[pos:pos + len(junk)] = junk
    try:
        decode_image(bytes(data))
    except ImageError:
        pass
