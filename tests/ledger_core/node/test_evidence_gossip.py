"""Evidence gossip: double-sign evidence from a peer is kept and passed on to the other peers
only when both signatures verify with the current validator set and its height is recent; the
same offence again goes no further (so gossip ends), and a node's own find is sent to all."""

from __future__ import annotations

import hashlib

import pytest

from ledger_core.consensus import PREVOTE, DoubleSign, Vote
from ledger_core.consensus.messages import sign
from ledger_core.crypto.keys import KeyPair
from ledger_core.node.ledger_node import Node
from ledger_core.node.network_producer import ConsensusProducer
from tests.ledger_core.node.test_sync_pipeline import FakeTransport
from tests.ledger_core.node.test_sync_unit import source  # noqa: F401 - the fixture

A, B = "aa" * 32, "bb" * 32


@pytest.fixture
def producer(tmp_path, source):  # noqa: F811
    c, src = source
    keys = KeyPair.from_seed(hashlib.sha256(b"node").digest())  # the chain's only validator
    p = ConsensusProducer(Node(src, c.node, tmp_path / "n.sock"), keys, tmp_path)
    p.link.transport = FakeTransport()
    return p, keys


def evidence(chain_id: str, signer: KeyPair, height: int) -> DoubleSign:
    votes = [sign(chain_id, Vote(PREVOTE, height, 0, bid), signer.key_id, signer.sign)
             for bid in ("01" * 32, "02" * 32)]
    return DoubleSign.of(*votes)


def sent_evidence(p):
    return [(m["e"], ex) for m, ex in p.link.transport.broadcasts if m.get("t") == "evidence"]


class RecordingTransport(FakeTransport):
    def __init__(self) -> None:
        super().__init__()
        self.broadcasts: list[tuple[dict, tuple]] = []

    def broadcast(self, msg, exclude=()) -> None:
        self.broadcasts.append((msg, tuple(exclude)))


def test_verified_evidence_is_kept_and_passed_on_once(tmp_path, producer):
    p, keys = producer
    p.link.transport = RecordingTransport()
    ev = evidence(p.chain.chain_id, keys, p.chain.height)
    p.router.dispatch(A, {"t": "evidence", "e": ev.to_json()})
    assert len(p.evidence.pool) == 1
    assert sent_evidence(p) == [(ev.to_json(), (A,))]  # not back to the peer it came from
    assert (tmp_path / "evidence.jsonl").read_bytes() == ev.encode() + b"\n"
    p.router.dispatch(B, {"t": "evidence", "e": ev.to_json()})
    assert len(p.evidence.pool) == 1 and len(sent_evidence(p)) == 1


def test_a_nodes_own_find_goes_to_every_peer(producer):
    p, keys = producer
    p.link.transport = RecordingTransport()
    p.evidence.keep(evidence(p.chain.chain_id, keys, p.chain.height + 1))
    assert [ex for _e, ex in sent_evidence(p)] == [()]


@pytest.mark.parametrize("bad", ["forged", "not_validator", "stale", "other_chain", "garbage"])
def test_unproven_evidence_is_dropped(tmp_path, producer, bad):
    p, keys = producer
    p.link.transport = RecordingTransport()
    chain_id, h = p.chain.chain_id, p.chain.height
    if bad == "forged":
        obj = evidence(chain_id, keys, h).to_json()
        obj["b"] = {**obj["b"], "signature": "00" * 64}
    elif bad == "not_validator":
        obj = evidence(chain_id, KeyPair.from_seed(b"x" * 32), h).to_json()
    elif bad == "stale":
        obj = evidence(chain_id, keys, h + 5).to_json()
    elif bad == "other_chain":
        obj = evidence("ff" * 32, keys, h).to_json()
    else:
        obj = {"type": "double_sign", "a": 1, "b": [2]}
    p.router.dispatch(A, {"t": "evidence", "e": obj})
    assert len(p.evidence.pool) == 0 and sent_evidence(p) == []
    assert not (tmp_path / "evidence.jsonl").exists()
