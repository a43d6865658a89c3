"""Canonical JSON: accepted values, rejected input with reason codes, and decoder fuzzing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrock import canonical as encoding
from bedrock.canonical import EncodingError, canonical, decode

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(encoding.INT_MIN, encoding.INT_MAX) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(alphabet=st.characters(max_codepoint=127), max_size=8), children, max_size=5),
    max_leaves=20,
)


def test_canonical_form_is_sorted_compact_utf8():
    assert canonical({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()


@pytest.mark.parametrize(
    ("value", "code"),
    [(1.5, "float"), ({"k": 2**63}, "int_range"), ({1: 2}, "bad_key"), ({"é": 1}, "bad_key"),
     (b"x", "bad_type"), ("\ud800", "bad_string")],
)
def test_canonical_rejects(value, code):
    with pytest.raises(EncodingError) as info:
        canonical(value)
    assert info.value.code == code


def test_depth_limit():
    deep: list = []
    for _ in range(encoding.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(EncodingError) as info:
        canonical(deep)
    assert info.value.code == "too_deep"
    with pytest.raises(EncodingError) as info:
        decode(b"[" * 100000 + b"]" * 100000, max_bytes=10**6)
    assert info.value.code == "too_deep"


@pytest.mark.parametrize(
    ("data", "code"),
    [(b'{"a":1.0}', "float"), (b'{"a":1e3}', "float"), (b'{"a":NaN}', "bad_number"),
     (b'{"a":1,"a":2}', "duplicate_key"), (b"\xff", "bad_utf8"), (b'{"a":', "bad_json"),
     (b'{"b":1,"a":2}', "not_canonical"), (b'{"a": 1}', "not_canonical"), (b"x" * 40, "too_large"),
     (b"99999999999999999999", "int_range"), ("str", "bad_type")],
)
def test_decode_rejects_with_reason(data, code):
    with pytest.raises(EncodingError) as info:
        decode(data, max_bytes=32)
    assert info.value.code == code


def test_non_canonical_allowed_when_asked():
    assert decode(b'{ "b": 1, "a": 2 }', require_canonical=False) == {"a": 2, "b": 1}


def test_digest_is_sha256_of_the_canonical_bytes():
    assert encoding.digest_hex({"x": 1}) == encoding.sha256(b'{"x":1}').hex()


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_roundtrip(value):
    data = canonical(value)
    assert decode(data) == value
    assert canonical(decode(data)) == data


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_decode_random_bytes_never_crashes(data):
    try:
        decode(data)
    except EncodingError as exc:
        assert exc.code and str(exc)


@settings(max_examples=300, deadline=None)
@given(json_values, st.data())
def test_decode_mutated_canonical_bytes(value, data):
    raw = bytearray(canonical(value))
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] = data.draw(st.integers(0, 255))
    try:
        out = decode(bytes(raw))
    except EncodingError as exc:
        assert exc.code
    else:
        assert canonical(out) == bytes(raw)
        assert json.loads(bytes(raw)) == out
