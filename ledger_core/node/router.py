"""The peer-message router: each message `{"t": type, ...}` goes to the reactor that owns `type`.

Reactors register their handlers (`handler(peer_key_id, message)`) by type; `dispatch` is the
Transport's `on_message`. Anything that is not an object with a known string type is ignored.
A peer's data never raises out of the router: a `MessageError` from a handler (a consensus
message to drop) costs the sender `MINOR` points, any other exception (a check that a hostile
value got past) is logged with the peer's key and costs `SERIOUS` points (`penalize`, the
Transport's ban book: enough points in a short time and the peer is banned).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ledger_core.consensus import MessageError
from ledger_core.net.peer_score import MINOR, SERIOUS

log = logging.getLogger("bcmlp.consensus")

Handler = Callable[[str, dict[str, Any]], None]
Penalize = Callable[[str, str, int, str], Any]  # (peer key id, reason, points, detail)


class Router:
    """Message type -> handler (see module docstring)."""

    def __init__(self, penalize: Penalize | None = None) -> None:
        self._routes: dict[str, Handler] = {}
        self._penalize = penalize

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._routes)

    def add(self, routes: Mapping[str, Handler]) -> None:
        """Register handlers; a type has exactly one owner."""
        taken = self._routes.keys() & routes.keys()
        if taken:
            raise ValueError(f"message types already routed: {sorted(taken)}")
        self._routes.update(routes)

    def dispatch(self, kid: str, msg: Any) -> None:
        if type(msg) is not dict:
            return
        t = msg.get("t")
        handler = self._routes.get(t) if type(t) is str else None
        if handler is None:
            return
        try:
            handler(kid, msg)
        except MessageError as exc:
            log.info("dropped a message from %s: %s", kid[:16], exc.code)
            self._punish(kid, f"bad_{t}", MINOR, exc.code)
        except Exception as exc:
            log.exception("handling a %r message from %s failed; dropped", t, kid[:16])
            self._punish(kid, "handler_error", SERIOUS, f"{t}: {exc!r}"[:200])

    def _punish(self, kid: str, reason: str, points: int, detail: str) -> None:
        if self._penalize is not None:
            try:
                self._penalize(kid, reason, points, detail)
            except Exception:
                log.exception("penalizing %s failed", kid[:16])
