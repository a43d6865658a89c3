"""The passphrase strength estimate and the minimum that key creation enforces."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_core.crypto.passphrase_policy import (
    MIN_LENGTH,
    WeakPassphrase,
    assess,
    require_acceptable,
)


def test_minimum_is_twelve():
    assert MIN_LENGTH == 12
    assert assess("Xq7#vLp2!mZ").hint == "weak: shorter than 12 characters"  # 11 random chars
    assert assess("Xq7#vLp2!mZ9").acceptable


@pytest.mark.parametrize(
    ("passphrase", "reason"),
    [
        ("password1234", "a common password"),
        ("Password123!", "a common password"),
        ("p4ssw0rd2024", "a common password"),
        ("iloveyou2024", "a common password"),
        ("passwordpassword", "a common password"),
        ("Summer2024!!", "a common password"),
        ("aaaaaaaaaaaa", "a repeated pattern"),
        ("hunter2hunter2", "a repeated pattern"),
        ("            ", "a repeated pattern"),
        ("123456789012", "a keyboard or alphabet sequence"),
        ("asdfghjklasdf", "a keyboard or alphabet sequence"),
        ("9876543210987", "a keyboard or alphabet sequence"),
        ("1234 5678 9012", "easy to guess"),
        ("ab12cd34ef56", "easy to guess"),
        ("undecodable \udcff bytes here", "not valid Unicode text"),
    ],
)
def test_weak(passphrase, reason):
    s = assess(passphrase)
    assert s.level == "weak" and not s.acceptable
    assert s.hint.startswith(f"weak: {reason}")
    with pytest.raises(WeakPassphrase) as info:
        require_acceptable(passphrase)
    assert info.value.exit_code == 2 and "\n" not in str(info.value) and reason in str(info.value)


@pytest.mark.parametrize("passphrase", ["kxqzmtbwpvlr", "mountainlake", "Mountainlake"])
def test_fair(passphrase):
    s = assess(passphrase)
    assert s.level == "fair" and s.acceptable and s.hint.startswith("fair: ")


@pytest.mark.parametrize(
    "passphrase",
    ["correct horse battery", "from a file 123", "my cat is fluffy", "Zuverlässigkeit",
     "Tr0ub4dor&3x-staple", "q8Vn-3xKp-Rt7w-Lm2z"],
)
def test_strong(passphrase):
    s = assess(passphrase)
    assert s.level == "strong" and s.hint == "strong" and s.bits >= 60
    assert require_acceptable(passphrase) == s


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=64))
def test_total_and_one_line(text):
    s = assess(text)
    assert s.level in {"weak", "fair", "strong"} and "\n" not in s.hint
    assert s.acceptable == (s.level != "weak")
    if len(text) < MIN_LENGTH:
        assert not s.acceptable
