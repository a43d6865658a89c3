"""The peer-message router: each type reaches its one handler, everything else is ignored, a
consensus MessageError is dropped, and the networked node routes exactly its six types."""

from __future__ import annotations

import hashlib

import pytest

from ledger_core.consensus import MessageError
from ledger_core.crypto.keys import KeyPair
from ledger_core.net.peer_score import MINOR, SERIOUS
from ledger_core.node.ledger_node import Node
from ledger_core.node.network_producer import ConsensusProducer
from ledger_core.node.router import Router
from tests.ledger_core.node.test_sync_unit import source  # noqa: F401 - the fixture

TYPES = ("cons", "txs", "status", "get_blocks", "blocks", "evidence")


def recording_router():
    seen: list[tuple[str, str, dict]] = []
    router = Router()
    router.add({t: (lambda kid, msg, t=t: seen.append((t, kid, msg))) for t in TYPES})
    return router, seen


@pytest.mark.parametrize("t", TYPES)
def test_each_type_reaches_its_handler(t):
    router, seen = recording_router()
    msg = {"t": t, "x": 1}
    router.dispatch("aa" * 32, msg)
    assert seen == [(t, "aa" * 32, msg)]


@pytest.mark.parametrize(
    "msg", [{"t": "frobnicate"}, {"x": 1}, {"t": None}, {"t": ["cons"]}, {"t": {"a": 1}},
            {"t": 3}, [1, 2], "cons", None, 7],
)
def test_unknown_types_and_non_objects_are_ignored(msg):
    router, seen = recording_router()
    router.dispatch("aa" * 32, msg)
    assert seen == []


def test_a_failing_handler_never_raises_and_costs_the_sender_points(caplog):
    """A peer's data never raises out of the router: a MessageError costs MINOR points, any other
    exception (a check a hostile value got past) SERIOUS ones, logged with the peer's key."""
    penalties = []
    router = Router(penalize=lambda *a: penalties.append(a))

    def bad(kid, msg):
        raise MessageError("bad_signature", "no")

    def broken(kid, msg):
        raise TypeError("unhashable type: 'list'")

    router.add({"cons": bad, "txs": broken})
    router.dispatch("aa" * 32, {"t": "cons"})
    router.dispatch("bb" * 32, {"t": "txs"})
    assert [p[:3] for p in penalties] == [("aa" * 32, "bad_cons", MINOR),
                                          ("bb" * 32, "handler_error", SERIOUS)]
    assert "bbbbbbbbbbbbbbbb" in caplog.text


def test_a_type_has_one_owner():
    router = Router()
    router.add({"cons": lambda kid, msg: None})
    with pytest.raises(ValueError, match="cons"):
        router.add({"cons": lambda kid, msg: None, "txs": lambda kid, msg: None})
    assert router.types == {"cons"}


def test_the_producer_routes_its_six_types(tmp_path, source):  # noqa: F811
    c, src = source
    keys = KeyPair.from_seed(hashlib.sha256(b"node").digest())
    p = ConsensusProducer(Node(src, c.node, tmp_path / "n.sock"), keys, tmp_path)
    assert p.router.types == set(TYPES)
