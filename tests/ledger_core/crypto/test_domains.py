"""Domain-separated signing bytes: a signature of one kind or chain never verifies as another."""

from ledger_core.crypto.domains import DOMAIN_TX, DOMAIN_VOTE, signing_bytes


def test_signing_bytes_separate_domains_and_chains():
    a = signing_bytes(DOMAIN_TX, "c1", {"x": 1})
    assert a != signing_bytes(DOMAIN_VOTE, "c1", {"x": 1})
    assert a != signing_bytes(DOMAIN_TX, "c2", {"x": 1})
    assert a.endswith(b'{"x":1}')
