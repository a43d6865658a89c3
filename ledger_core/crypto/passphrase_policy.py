"""How strong a key passphrase is: a small, pure estimate (length, character classes, common
passwords, repeats and keyboard or alphabet runs), the minimum that `bcmlp init` and the identity
dialog enforce, and the one-line hint both show ("weak: ...", "fair: ...", "strong").

This is a rough guard against the passwords an offline attacker tries first, not a proof of
strength: it errs on the side of calling a passphrase weaker than it is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bedrock.errors import CodedError

MIN_LENGTH = 12
WEAK_BITS = 45  # below: refused
STRONG_BITS = 60  # from here: "strong"

# The bases of the most common passwords (public breach top lists), lower-case; a passphrase that
# is one of them (or one repeated) after dropping leading and trailing digits and symbols and
# undoing l33t spellings is weak.
COMMON = frozenset(
    """
    password passwort motdepasse contrasena qwerty qwertz azerty qwertyuiop asdfghjkl zxcvbnm
    letmein welcome iloveyou admin administrator root changeme secret geheim default monkey
    dragon football baseball soccer hockey sunshine princess trustno master shadow superman
    batman starwars whatever michael jennifer jordan hunter ashley bailey charlie freedom
    computer internet hello hallo login access flower summer winter spring autumn loveme
    lovely mustang pokemon ninja abc abcdef abcdefgh test tester testing guest user
    letmeinplease passphrase mypassword yourpassword password123 qazwsx qweasd zaq xsw
    company consortium ledger bcmlp steel factory operator trainer auditor monitor
    """.split()
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "+": "t"})
_ROWS = ("`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./", "qwertzuiop", "azertyuiop")


class WeakPassphrase(CodedError):
    """A passphrase the policy refuses (exit code 2 on the command line)."""

    code = "weak_passphrase"
    exit_code = 2


@dataclass(frozen=True)
class Strength:
    level: str  # "weak", "fair" or "strong"
    reason: str  # why it is not strong ("" when it is)
    bits: int  # the rough estimate of guessing entropy

    @property
    def acceptable(self) -> bool:
        return self.level != "weak"

    @property
    def hint(self) -> str:
        return self.level if not self.reason else f"{self.level}: {self.reason}"


def _has_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _predictable_step(a: str, b: str) -> bool:
    """True when b follows a as a repeat, an alphabet or digit run, or a keyboard neighbour."""
    a, b = a.lower(), b.lower()
    if a == b or (a.isalnum() and b.isalnum() and abs(ord(a) - ord(b)) == 1):
        return True
    return any(
        (i := row.find(a)) >= 0 and (j := row.find(b)) >= 0 and abs(i - j) == 1 for row in _ROWS
    )


def _pool(passphrase: str) -> int:
    pool = 0
    checks = (
        (r"[a-z]", 26), (r"[A-Z]", 26), (r"[0-9]", 10), (r" ", 1), (r"[!-/:-@\[-`{-~]", 33),
        (r"[^\x00-\x7f]", 100),
    )
    for pattern, size in checks:
        if re.search(pattern, passphrase):
            pool += size
    return max(pool, 1)


def _base_word(passphrase: str) -> str:
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", passphrase.lower())
    return core.translate(_LEET).replace(" ", "")


def _is_common(base: str) -> bool:
    """True when base is a common password, or one repeated (passwordpassword)."""
    if not base:
        return False
    return any(len(base) % len(w) == 0 and base == w * (len(base) // len(w)) for w in COMMON)


def _repeats(text: str) -> bool:
    """True when text is one shorter piece repeated (abcabcabcabc)."""
    n = len(text)
    return any(n % k == 0 and text == text[:k] * (n // k) for k in range(1, n // 2 + 1))


def assess(passphrase: str) -> Strength:
    """The strength of `passphrase`; weak ones are refused when a key is created."""
    n = len(passphrase)
    steps = sum(_predictable_step(a, b) for a, b in zip(passphrase, passphrase[1:], strict=False))
    # a capital first letter is what everybody does: one bit, not a whole character class
    capital = passphrase[:1].isupper()
    pool = _pool(passphrase[:1].lower() + passphrase[1:])
    bits = int(max(n - steps, 0) * math.log2(pool) + capital)
    if n < MIN_LENGTH:
        return Strength("weak", f"shorter than {MIN_LENGTH} characters", bits)
    if not _has_utf8(passphrase):  # lone surrogates, e.g. undecodable bytes from the environment
        return Strength("weak", "not valid Unicode text", bits)
    base = _base_word(passphrase)
    if _is_common(base):
        return Strength("weak", "a common password", bits)
    if len(set(passphrase.lower())) <= 3 or _repeats(passphrase.lower()):
        return Strength("weak", "a repeated pattern", bits)
    if steps >= 0.75 * (n - 1):
        return Strength("weak", "a keyboard or alphabet sequence", bits)
    if bits < WEAK_BITS:
        return Strength("weak", "easy to guess: use more words or kinds of characters", bits)
    if bits < STRONG_BITS:
        return Strength("fair", "longer is stronger: add a word", bits)
    return Strength("strong", "", bits)


def require_acceptable(passphrase: str) -> Strength:
    """The strength of `passphrase`; WeakPassphrase (one line) when the policy refuses it."""
    strength = assess(passphrase)
    if not strength.acceptable:
        raise WeakPassphrase(f"passphrase refused: {strength.reason} (need at least "
                             f"{MIN_LENGTH} characters that are hard to guess)")
    return strength
