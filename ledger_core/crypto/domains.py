"""Domain-separated signing bytes: what every Ed25519 signature of the ledger covers.

A signature over a transaction can never be replayed as a vote, a proposal or a handshake:
each kind has its own domain tag, and the chain id binds it to one consortium.
"""

from __future__ import annotations

from typing import Any

from bedrock.canonical import canonical

DOMAIN_TX = "bcmlp/tx/v1"
DOMAIN_VOTE = "bcmlp/vote/v1"
DOMAIN_PROPOSAL = "bcmlp/proposal/v1"
DOMAIN_CERT = "bcmlp/cert/v1"
DOMAIN_HANDSHAKE = "bcmlp/handshake/v1"

def signing_bytes(domain: str, chain_id: str, obj: Any) -> bytes:
    """What a signature covers: domain tag, chain id, canonical body, NUL-separated."""
    return domain.encode("ascii") + b"\x00" + chain_id.encode("ascii") + b"\x00" + canonical(obj)
