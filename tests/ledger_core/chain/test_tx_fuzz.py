"""Hostile transaction payloads: parsing any signed envelope raises TxError and nothing else.

An insider with a registered key signs whatever it likes; the stateless form checks run on
every node for every transaction it gossips or puts in a block, so a TypeError from a
membership test on an unhashable value would escape the code that handles the peer's data
(issue 13, finding 1: `payload.action` as a list in `member.propose`).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bedrock.canonical import EncodingError
from ledger_core.chain import tx as txm
from ledger_core.crypto.domains import DOMAIN_TX, signing_bytes
from tests.support.ledger_world import signer

CHAIN = "ab" * 32
SENDER = signer("hostile")

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=20),
)
_json = st.recursive(
    _scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=12,
)
_FIELDS = ("action", "org", "participants", "key_id", "name", "value", "note", "kind", "cert",
           "subject", "score", "comment", "component", "status", "metrics", "about", "id")


def _signed(tx_type: object, payload: object) -> dict:
    body = {"chain_id": CHAIN, "type": tx_type, "sender": SENDER.key_id, "nonce": 1,
            "time": 1_700_000_000_000, "payload": payload}
    try:
        sig = SENDER.sign(signing_bytes(DOMAIN_TX, CHAIN, body))
    except EncodingError:  # not JSON a signer can encode: nothing a peer could send signed
        assume(False)
    return {"body": body, "signature": sig.hex()}


def _parse(env: dict) -> None:
    try:
        txm.from_obj(env)
    except txm.TxError:
        pass


@pytest.mark.parametrize("action", [[], ["add_org"], {}, {"a": 1}, 2**62, None, True])
def test_member_propose_with_an_unhashable_or_odd_action_is_refused(action):
    with pytest.raises(txm.TxError) as err:
        txm.from_obj(_signed("member.propose", {"action": action, "note": ""}))
    assert err.value.code == "bad_payload"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tx_type=st.sampled_from(sorted(txm.TX_TYPES)) | _json,
    payload=st.dictionaries(st.sampled_from(_FIELDS) | st.text(max_size=6), _json, max_size=6)
    | _json,
)
def test_any_payload_of_any_type_only_raises_tx_error(tx_type, payload):
    _parse(_signed(tx_type, payload))


@settings(max_examples=200, deadline=None)
@given(env=_json)
def test_any_envelope_only_raises_tx_error(env):
    _parse(env)
