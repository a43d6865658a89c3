"""Handshake and secure channel, sans-I/O: authentication, chain binding, AEAD frame checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_core.crypto.keys import KeyPair
from ledger_core.net.channel import SecureChannel
from ledger_core.net.errors import ProtocolError
from ledger_core.net.framing import FrameDecoder, encode_frame
from ledger_core.net.handshake import Handshake, HandshakeError

CHAIN = "a" * 64
A = KeyPair.from_seed(bytes(range(32)))
B = KeyPair.from_seed(bytes(range(1, 33)))
C = KeyPair.from_seed(bytes(range(2, 34)))


def allow(*pairs: KeyPair):
    ids = {p.key_id for p in pairs}
    return lambda kid: kid in ids


def pump(x: SecureChannel, y: SecureChannel) -> tuple[list[bytes], list[bytes]]:
    """Shuttle bytes both ways until quiet; returns what each side received."""
    got_x: list[bytes] = []
    got_y: list[bytes] = []
    for _ in range(10):
        a, b = x.data_to_send(), y.data_to_send()
        if not a and not b:
            break
        if a:
            got_y += y.receive_data(a)
        if b:
            got_x += x.receive_data(b)
    return got_x, got_y


def pair(chain_i: str = CHAIN, chain_r: str = CHAIN, **kw) -> tuple[SecureChannel, SecureChannel]:
    i = SecureChannel(
        "initiator", A, chain_i, kw.get("auth_i", allow(B)), expected_key_id=kw.get("expected")
    )
    r = SecureChannel("responder", B, chain_r, kw.get("auth_r", allow(A)))
    return i, r


def test_mutual_authentication_and_messages_both_ways() -> None:
    i, r = pair()
    pump(i, r)
    assert i.established and r.established
    assert i.peer_key_id == B.key_id and r.peer_key_id == A.key_id
    assert i.peer_public == B.public_raw
    i.send(b"hello")
    i.send(b"")
    r.send(b"world" * 1000)
    got_i, got_r = pump(i, r)
    assert got_r == [b"hello", b""]
    assert got_i == [b"world" * 1000]


def test_frames_sent_right_after_the_handshake_arrive_with_it() -> None:
    i, r = pair()
    r.receive_data(i.data_to_send())
    i.receive_data(r.data_to_send())  # initiator done: msg3 queued
    assert i.established and not r.established
    i.send(b"early")
    assert r.receive_data(i.data_to_send()) == [b"early"]
    assert r.established


def test_wrong_chain_is_refused() -> None:
    i, r = pair(chain_r="b" * 64)
    with pytest.raises(HandshakeError) as info:
        pump(i, r)
    assert info.value.code == "wrong_chain"
    assert not r.established


def test_signatures_bind_the_chain_id() -> None:
    # A relay rewrites the chain id in the hello: the responder signs for its own chain and the
    # initiator, which signs and verifies for another, refuses.
    i, r = pair(chain_r="b" * 64)
    hello = FrameDecoder().feed(i.data_to_send())[0]
    forged = hello[:33] + b"b" * 64
    r.receive_data(encode_frame(forged))
    with pytest.raises(HandshakeError) as info:
        i.receive_data(r.data_to_send())
    assert info.value.code in ("bad_signature", "decrypt_failed")
    assert not i.established


@pytest.mark.parametrize("side", ["responder", "initiator"])
def test_unknown_key_is_refused_by_either_side(side: str) -> None:
    kw = {"auth_r": allow(C)} if side == "responder" else {"auth_i": allow(C)}
    i, r = pair(**kw)
    with pytest.raises(HandshakeError) as info:
        pump(i, r)
    assert info.value.code == "unauthorized"
    assert not r.established


def test_expected_key_must_match() -> None:
    i, r = pair(expected=C.key_id)
    with pytest.raises(HandshakeError) as info:
        pump(i, r)
    assert info.value.code == "unexpected_key"


def test_man_in_the_middle_with_its_own_ephemeral_fails() -> None:
    # Mallory (no authorized key) answers the hello with the real responder's signed identity
    # but her own ephemeral key: the signature no longer covers the transcript.
    i, r = pair()
    hello = i.data_to_send()
    r.receive_data(hello)
    real = FrameDecoder().feed(r.data_to_send())[0]
    mallory = Handshake("responder", C, CHAIN, lambda kid: True)
    fake = mallory.receive(FrameDecoder().feed(hello)[0])
    assert fake is not None
    with pytest.raises(HandshakeError):
        i.receive_data(encode_frame(fake[:32] + real[32:]))


def established() -> tuple[SecureChannel, SecureChannel]:
    i, r = pair()
    pump(i, r)
    return i, r


def test_replayed_frame_fails() -> None:
    i, r = established()
    i.send(b"pay 1")
    frame = i.data_to_send()
    assert r.receive_data(frame) == [b"pay 1"]
    with pytest.raises(ProtocolError) as info:
        r.receive_data(frame)
    assert info.value.code == "decrypt_failed"


def test_reordered_frames_fail() -> None:
    i, r = established()
    i.send(b"first")
    f1 = i.data_to_send()
    i.send(b"second")
    f2 = i.data_to_send()
    with pytest.raises(ProtocolError) as info:
        r.receive_data(f2 + f1)
    assert info.value.code == "decrypt_failed"


@settings(max_examples=50, deadline=None)
@given(pos=st.integers(min_value=4), bit=st.integers(0, 7))
def test_any_tampered_bit_fails_and_the_channel_stays_dead(pos: int, bit: int) -> None:
    i, r = established()
    i.send(b"certify model 42")
    frame = bytearray(i.data_to_send())
    pos = 4 + pos % (len(frame) - 4)  # flip a bit of the body (the length is checked by framing)
    frame[pos] ^= 1 << bit
    with pytest.raises(ProtocolError) as info:
        r.receive_data(bytes(frame))
    assert info.value.code == "decrypt_failed"
    i.send(b"next")
    with pytest.raises(ProtocolError):
        r.receive_data(i.data_to_send())


def test_reflection_is_refused() -> None:
    # Sending the responder's own identity message back to it cannot complete a handshake.
    i, r = pair()
    r.receive_data(i.data_to_send())
    msg2 = FrameDecoder().feed(r.data_to_send())[0]
    with pytest.raises(HandshakeError):
        r.receive_data(encode_frame(msg2[32:]))


def test_send_before_handshake_and_oversized_message() -> None:
    i, r = pair()
    with pytest.raises(ProtocolError):
        i.send(b"x")
    pump(i, r)
    with pytest.raises(ValueError):
        i.send(b"x" * (i.max_plaintext + 1))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=600))
def test_garbage_to_a_responder_only_raises_protocol_errors(data: bytes) -> None:
    r = SecureChannel("responder", B, CHAIN, allow(A))
    try:
        r.receive_data(data)
    except ProtocolError:
        pass
    assert not r.established


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=600))
def test_garbage_after_the_handshake_only_raises_protocol_errors(data: bytes) -> None:
    i, r = established()
    try:
        out = r.receive_data(data)
    except ProtocolError:
        return
    assert out == []  # nothing forged gets through


def test_handshake_frames_are_small() -> None:
    r = SecureChannel("responder", B, CHAIN, allow(A))
    with pytest.raises(ProtocolError) as info:
        r.receive_data((10_000).to_bytes(4, "big"))
    assert info.value.code == "oversized"


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, last = [], 0
    for p in points + [len(data)]:
        out.append(data[last:p])
        last = p
    return out


@settings(max_examples=60, deadline=None)
@given(
    msgs=st.lists(st.binary(max_size=300), max_size=6),
    cuts=st.lists(st.integers(0, 5000), max_size=10),
)
def test_any_split_of_the_stream_gives_the_same_result(msgs: list[bytes], cuts: list[int]):
    # The initiator's msg3 and its first frames reach the responder in arbitrary pieces.
    i, r = pair()
    r.receive_data(i.data_to_send())
    i.receive_data(r.data_to_send())
    for m in msgs:
        i.send(m)
    got: list[bytes] = []
    for chunk in _chunks(i.data_to_send(), cuts):
        got += r.receive_data(chunk)
    assert got == msgs and r.established and r.pending == 0


def test_good_frames_before_a_bad_one_are_still_delivered_one_by_one() -> None:
    i, r = established()
    i.send(b"one")
    i.send(b"two")
    data = i.data_to_send()
    r.push(data + data[: len(data) // 2])  # then a replay of the first frame
    assert r.next_message() == b"one"
    assert r.next_message() == b"two"
    with pytest.raises(ProtocolError):
        r.next_message()
    with pytest.raises(ProtocolError):
        r.push(b"")


def test_a_low_order_ephemeral_key_is_refused() -> None:
    r = Handshake("responder", B, CHAIN, allow(A))
    with pytest.raises(HandshakeError) as info:
        r.receive(bytes([1]) + bytes(32) + CHAIN.encode())
    assert info.value.code == "bad_key"
    with pytest.raises(HandshakeError) as again:
        Handshake("responder", B, CHAIN, allow(A)).receive(bytes([2]) + bytes(32) + CHAIN.encode())
    assert again.value.code == "wrong_version"
