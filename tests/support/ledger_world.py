"""Test fixtures for ledger tests: a small consortium genesis with deterministic keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ledger_core.chain import genesis as gen
from ledger_core.chain import tx as txm
from ledger_core.chain.block import sign_commit
from ledger_core.chain.replica import Chain
from ledger_core.crypto.signing import Signer

ALL_ROLES = ["auditor", "monitor", "operator", "trainer", "validator"]
BUSINESS = ["auditor", "monitor", "operator", "trainer"]


def signer(name: str) -> Signer:
    return Signer(hashlib.sha256(name.encode()).digest())


@dataclass
class Consortium:
    genesis: gen.Genesis
    node: Signer
    expert: Signer
    devices: list[Signer]
    other_expert: Signer  # expert of a second organisation

    @property
    def chain_id(self) -> str:
        return self.genesis.chain_id


def consortium(n_devices: int = 3, time_ms: int = 1_700_000_000_000) -> Consortium:
    node, expert, other = signer("node"), signer("expert"), signer("other")
    devices = [signer(f"dev{i}") for i in range(n_devices)]
    parts = [
        gen.participant_entry(node.public_raw, "acme", "node-1", "node", ["validator"]),
        gen.participant_entry(expert.public_raw, "acme", "Ada", "expert", BUSINESS),
        gen.participant_entry(other.public_raw, "qc", "Quinn", "expert", ["auditor"]),
    ] + [
        gen.participant_entry(d.public_raw, "acme", f"camera-{i}", "device", ["monitor", "operator"])
        for i, d in enumerate(devices)
    ]
    g = gen.make(
        "test-chain", time_ms,
        [{"id": "acme", "name": "ACME Steel", "roles": ALL_ROLES},
         {"id": "qc", "name": "QC Labs", "roles": ["auditor"]}],
        parts, [node.key_id],
    )
    return Consortium(g, node, expert, devices, other)


def report(sg: Signer, chain_id: str, nonce: int, component: str = "camera") -> txm.Tx:
    return txm.make(sg, chain_id, "monitor.report", nonce,
                    {"component": component, "status": "ok", "metrics": {"fps": 30}, "about": None},
                    1_700_000_000_000 + nonce)


def produce(chain: Chain, node: Signer, txs: list[txm.Tx], time_ms: int | None = None):
    """Single-validator block production: propose, sign the commit, commit."""
    block, result = chain.propose(txs, node.key_id, time_ms or chain.state.last_time + 1000)
    commit = sign_commit([node], chain.chain_id, block.height, 0, block.id)
    chain.commit(block, commit, result)
    return block, result
