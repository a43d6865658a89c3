"""RFC 9162 Merkle trees: RFC 6962 reference vectors, pymerkle cross-check, proof properties."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_core.crypto import merkle

# The certificate-transparency reference tree (RFC 6962 test data) and its roots per size.
CT_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

leaf_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=40)


def test_empty_tree_is_hash_of_nothing():
    assert merkle.root([]) == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", range(1, 9))
def test_rfc6962_reference_roots(size):
    assert merkle.root(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


def test_matches_pymerkle_for_every_size():
    from pymerkle import InmemoryTree

    tree = InmemoryTree(algorithm="sha256")
    leaves = [f"entry-{i}".encode() for i in range(70)]
    for i, d in enumerate(leaves, start=1):
        tree.append_entry(d)
        assert merkle.root(leaves[:i]) == tree.get_root(i)


@settings(max_examples=150, deadline=None)
@given(leaf_lists, st.data())
def test_inclusion_proofs_verify_and_bind(leaves, data):
    idx = data.draw(st.integers(0, len(leaves) - 1))
    r = merkle.root(leaves)
    proof = merkle.inclusion_proof(idx, leaves)
    assert merkle.verify_inclusion(leaves[idx], idx, len(leaves), proof, r)
    assert not merkle.verify_inclusion(leaves[idx] + b"x", idx, len(leaves), proof, r)
    if len(leaves) > 1:
        other = data.draw(st.integers(0, len(leaves) - 1).filter(lambda j: j != idx))
        assert not merkle.verify_inclusion(leaves[idx], other, len(leaves), proof, r) or (
            leaves[idx] == leaves[other] and proof == merkle.inclusion_proof(other, leaves)
        )
    if proof:
        bad = list(proof)
        bad[0] = bytes(32)
        assert not merkle.verify_inclusion(leaves[idx], idx, len(leaves), bad, r)
        assert not merkle.verify_inclusion(leaves[idx], idx, len(leaves), proof[:-1], r)


@settings(max_examples=150, deadline=None)
@given(leaf_lists, st.data())
def test_consistency_proofs_verify_and_bind(leaves, data):
    n = len(leaves)
    m = data.draw(st.integers(0, n))
    old, new = merkle.root(leaves[:m]), merkle.root(leaves)
    proof = merkle.consistency_proof(m, leaves)
    assert merkle.verify_consistency(m, n, old, new, proof)
    if 0 < m < n:
        assert not merkle.verify_consistency(m, n, bytes(32), new, proof)
        assert not merkle.verify_consistency(m, n, old, bytes(32), proof)
        changed = list(leaves)
        changed[0] = changed[0] + b"!"
        assert not merkle.verify_consistency(m, n, merkle.root(changed[:m]), new, proof)
        bad = list(proof)
        bad[-1] = bytes(32)
        assert not merkle.verify_consistency(m, n, old, new, bad)


def test_consistency_matches_pymerkle_roots():
    from pymerkle import InmemoryTree

    leaves = [bytes([i]) * (i % 5) for i in range(33)]
    tree = InmemoryTree.init_from_entries(leaves, algorithm="sha256")
    for m in range(1, 33):
        proof = merkle.consistency_proof(m, leaves)
        assert merkle.verify_consistency(m, 33, tree.get_root(m), tree.get_root(33), proof)


def test_hashed_leaves_and_bad_requests():
    leaves = [b"a", b"b", b"c"]
    hashes = [merkle.leaf_hash(x) for x in leaves]
    assert merkle.root_from_leaf_hashes(hashes) == merkle.root(leaves)
    assert merkle.inclusion_proof(2, hashes, hashed=True) == merkle.inclusion_proof(2, leaves)
    r = merkle.root(leaves)
    assert merkle.verify_inclusion(hashes[1], 1, 3, merkle.inclusion_proof(1, leaves), r, hashed=True)
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(3, leaves)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(4, leaves)
    assert not merkle.verify_inclusion(b"a", -1, 3, [], r)
    assert not merkle.verify_consistency(2, 1, r, r, [])
    assert not merkle.verify_consistency(1, 3, r, r, [b"short"])
