"""The peer-message router: each message `{"t": type, ...}` goes to the reactor that owns `type`.

Reactors register their handlers (`handler(peer_key_id, message)`) by type; `dispatch` is the
Transport's `on_message`. Anything that is not an object with a known string type is ignored,
and a `MessageError` from a handler (a consensus message to drop) is logged, so peer data never
raises out of the router for those cases.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ledger_core.consensus import MessageError

log = logging.getLogger("bcmlp.consensus")

Handler = Callable[[str, dict[str, Any]], None]


class Router:
    """Message type -> handler (see module docstring)."""

    def __init__(self) -> None:
        self._routes: dict[str, Handler] = {}

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
