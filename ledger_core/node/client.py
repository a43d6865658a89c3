"""A small blocking client of the node's control socket, for the CLI and the GUI."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from bedrock.errors import CodedError
from ledger_core.chain.tx import Tx
from ledger_core.node.control_socket import FrameError, encode_message, read_message_sync


class NodeUnavailable(CodedError, ConnectionError):
    """No node answers on the control socket."""

    code = "node_unavailable"


class NodeClient:
    """One connection to `<data-dir>/node.sock`, opened on first use and reopened after errors."""

    def __init__(self, socket_path: Path, timeout: float = 30.0) -> None:
        self.path = Path(socket_path)
        self.timeout = timeout
        self._sock: socket.socket | None = None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> socket.socket:
        if self._sock is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(self.timeout)
            try:
                s.connect(str(self.path))
            except OSError as exc:
                s.close()
                raise NodeUnavailable(
                    f"no node is running at {self.path} ({exc.strerror or exc})"
                ) from None
            self._sock = s
        return self._sock

    def request(self, op: str, **args: Any) -> dict[str, Any]:
        sock = self._connect()
        try:
            sock.sendall(encode_message({"op": op, **args}))
            return read_message_sync(sock)
        except (OSError, FrameError) as exc:
            self.close()
            raise NodeUnavailable(f"the node at {self.path} did not answer: {exc}") from None

    def status(self) -> dict[str, Any]:
        return self.request("status")

    def submit(self, tx: Tx, wait: bool = False) -> dict[str, Any]:
        return self.request("submit", tx=tx.envelope(), wait=wait)

    def submit_batch(self, txs: list[Tx], wait: bool = False) -> list[dict[str, Any]]:
        return self.request("submit_batch", txs=[t.envelope() for t in txs], wait=wait)["results"]

    def next_nonce(self, key_id: str) -> int:
        return self.request("nonce", key_id=key_id)["next"]

    def block(self, height: int) -> dict[str, Any] | None:
        return self.request("block", height=height)["block"]

    def blocks(
        self, before: int | None = None, after: int | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        args: dict[str, Any] = {"limit": limit}
        if before is not None:
            args["before"] = before
        if after is not None:
            args["after"] = after
        return self.request("blocks", **args)["blocks"]

    def tx(self, tx_hash: str) -> dict[str, Any] | None:
        return self.request("tx", hash=tx_hash)["tx"]

    def search(self, term: str) -> dict[str, Any] | None:
        return self.request("search", term=term)["result"]
