"""RFC 9162 Merkle tree hash, inclusion and consistency proofs, and their verification.

Leaves are byte strings; leaf hash = SHA-256(0x00 || d), node hash = SHA-256(0x01 || l || r).
The empty tree hashes to SHA-256(""). Proofs are lists of 32-byte hashes (RFC 9162 2.1.3, 2.1.4).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from bedrock.errors import CodedError

_sha = hashlib.sha256
EMPTY_ROOT = _sha(b"").digest()


class ProofError(CodedError, ValueError):
    """A proof request outside the tree, or a malformed proof."""

    code = "bad_proof"


def leaf_hash(data: bytes) -> bytes:
    return _sha(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH over already hashed leaves, bottom-up (same tree as the RFC's recursive split)."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the leaf data."""
    return root_from_leaf_hashes([leaf_hash(d) for d in leaves])


def _path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, hashes[:k]) + [root_from_leaf_hashes(hashes[k:])]
    return _path(m - k, hashes[k:]) + [root_from_leaf_hashes(hashes[:k])]


def inclusion_proof(index: int, leaves: Sequence[bytes], hashed: bool = False) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf `index`. With hashed=True, leaves are leaf hashes."""
    hashes = list(leaves) if hashed else [leaf_hash(d) for d in leaves]
    if not 0 <= index < len(hashes):
        raise ProofError(f"leaf index {index} is outside a tree of size {len(hashes)}")
    return _path(index, hashes)


def _subproof(m: int, hashes: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [root_from_leaf_hashes(hashes)]
    k = _split(n)
    if m <= k:
        return _subproof(m, hashes[:k], complete) + [root_from_leaf_hashes(hashes[k:])]
    return _subproof(m - k, hashes[k:], False) + [root_from_leaf_hashes(hashes[:k])]


def consistency_proof(old_size: int, leaves: Sequence[bytes], hashed: bool = False) -> list[bytes]:
    """PROOF(m, D[n]): shows the tree of the first `old_size` leaves is a prefix of this one."""
    hashes = list(leaves) if hashed else [leaf_hash(d) for d in leaves]
    if not 0 <= old_size <= len(hashes):
        raise ProofError(f"old size {old_size} is outside 0..{len(hashes)}")
    if old_size in (0, len(hashes)):
        return []
    return _subproof(old_size, hashes, True)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes, hashed: bool = False
) -> bool:
    """RFC 9162 2.1.3.2: True when `leaf` is at `index` of the tree of `size` with `root_hash`."""
    if not 0 <= index < size or any(len(p) != 32 for p in proof):
        return False
    fn, sn = index, size - 1
    r = leaf if hashed else leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: True when the tree (old_size, old_root) is a prefix of (new_size, new_root)."""
    if not 0 <= old_size <= new_size or any(len(p) != 32 for p in proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
