"""Submitting a signed transaction through the node's control socket (<data-dir>/node.sock) and
waiting for its commit: a typed answer (hash, height, index) or `TxRefused` with the reason."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from app.errors import UserError
from app.paths import DataDir
from ledger_core.chain import tx as txm
from ledger_core.crypto.signing import Signer
from ledger_core.node.client import NodeClient, NodeUnavailable

# (tx type, payload) -> (hash, height): how the station's anchoring submits
Sender = Callable[[str, dict[str, Any]], tuple[str, int | None]]


class Committed(NamedTuple):
    """A committed transaction and the node's answer ({"ok", "hash", "height", "index"})."""

    tx: txm.Tx
    answer: dict[str, Any]

    @property
    def hash(self) -> str:
        return self.tx.hash

    @property
    def height(self) -> int | None:
        return self.answer.get("height")

    @property
    def index(self) -> int | None:
        return self.answer.get("index")


class TxRefused(UserError):
    """The ledger dropped the transaction: `reason_code` and `reason` say why."""

    code = "tx_refused"

    def __init__(self, reason_code: str | None, reason: str | None) -> None:
        super().__init__(f"the ledger refused the transaction: {reason_code}: {reason}")
        self.reason_code = reason_code
        self.reason = reason


def submit(dd: DataDir, signer: Signer, tx_type: str, payload: dict[str, Any]) -> Committed:
    """Sign and submit through <data-dir>/node.sock, wait for the commit; TxRefused if dropped."""
    try:
        with NodeClient(dd.node_socket, timeout=120) as cl:
            chain_id = cl.status()["chain_id"]
            nonce = cl.next_nonce(signer.key_id)
            try:
                tx = txm.make(signer, chain_id, tx_type, nonce, payload, time.time_ns() // 1_000_000)
            except txm.TxError as exc:  # the message alone would hide the reason code
                raise UserError(f"{exc.code}: {exc}") from None
            ans = cl.submit(tx, wait=True)
    except NodeUnavailable as exc:
        raise UserError(f"{exc} (start it with `bcmlp node --dev`)") from None
    if not ans.get("ok"):
        raise TxRefused(ans.get("code"), ans.get("message"))
    return Committed(tx, ans)


def sender(dd: DataDir, signer: Signer) -> Sender:
    """`submit` as the (hash, height) callable that the station's anchoring takes."""

    def send(tx_type: str, payload: dict[str, Any]) -> tuple[str, int | None]:
        done = submit(dd, signer, tx_type, payload)
        return done.hash, done.height

    return send
