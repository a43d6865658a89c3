"""Block sync bookkeeping as pure state: whom to ask for which blocks, and whom we serve.

Messages (canonical JSON on the peer network; the items are described in `sync_items`):
`{"t": "status", "height": H}` (every node's head, sent on connect, after each commit and every
`status_s`), `{"t": "get_blocks", "from": H, "limit": N}` and its answer
`{"t": "blocks", "blocks": [item, ...]}`.

`FetchSchedule` (the fetching side): the heights peers announced, the one request on its way
(given up after `SYNC_TIMEOUT_S`: that peer's height is forgotten until its next status, and
`timed_out` names it), the batches fetched but not yet applied (at most
`SYNC_AHEAD` before the next request: that bounds the memory a long catch-up takes) and the
highest height fetched. `ServeQueue` (the serving side): one batch per peer at a time; the newest
request that arrives meanwhile waits for it. No I/O and no clock: `block_sync` drives both.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from ledger_core.node.sync_items import item_height

SYNC_BATCH = 200
SYNC_TIMEOUT_S = 10.0
SYNC_AHEAD = 2  # fetched batches waiting to be applied before the next is asked for


def status_message(height: int) -> dict[str, Any]:
    return {"t": "status", "height": height}


def parse_status(msg: dict[str, Any]) -> int | None:
    """The announced height, None when the message has none."""
    h = msg.get("height")
    return h if type(h) is int and h >= 0 else None


def parse_request(msg: dict[str, Any], head: int) -> tuple[int, int] | None:
    """(from, limit) of a `get_blocks` request this node can serve, else None."""
    start, limit = msg.get("from"), msg.get("limit")
    if type(start) is not int or type(limit) is not int or start < 1 or start > head:
        return None
    return start, limit


class FetchSchedule:
    """The fetching side of block sync (see module docstring)."""

    def __init__(self) -> None:
        self.peer_heights: dict[str, int] = {}
        self.pending: tuple[str, float] | None = None  # (peer, when asked)
        self.in_flight = 0  # fetched batches not yet applied
        self.fetched_to = 0  # the highest height fetched (applied or not)
        self.timed_out: str | None = None  # the last peer whose answer did not come in time

    @property
    def idle(self) -> bool:
        """No batch on its way and none waiting to be applied."""
        return self.pending is None and not self.in_flight

    def on_status(self, kid: str, height: int) -> None:
        self.peer_heights[kid] = height

    def next_request(
        self, now: float, head: int, connected: Container[str]
    ) -> tuple[str, dict[str, Any]] | None:
        """(peer, get_blocks message) to send now, or None: a request is on its way (and not
        yet timed out), enough batches wait to be applied, or no connected peer is ahead.
        The caller reports a message it could queue with `asked`."""
        if self.in_flight >= SYNC_AHEAD:
            return None
        if self.pending is not None:
            if now - self.pending[1] < SYNC_TIMEOUT_S:
                return None
            # it announced blocks and did not serve them in time: ask someone else
            self.timed_out = self.pending[0]
            self.peer_heights.pop(self.pending[0], None)
            self.pending = None
        start = max(head, self.fetched_to) + 1
        ahead = [
            (h, kid) for kid, h in self.peer_heights.items() if h >= start and kid in connected
        ]
        if not ahead:
            return None
        _h, kid = max(ahead)
        return kid, {"t": "get_blocks", "from": start, "limit": SYNC_BATCH}

    def asked(self, kid: str, now: float) -> None:
        self.pending = (kid, now)

    def on_blocks(self, kid: str, items: Any) -> bool:
        """An answer arrived: True when it is a batch to check and apply (it then counts as in
        flight until `applied`). Answers nobody asked for are ignored; an empty one makes us
        forget the peer's height until its next status (it announced blocks it does not serve)."""
        if self.pending is None or self.pending[0] != kid or type(items) is not list:
            return False
        self.pending = None
        if not items:
            self.peer_heights.pop(kid, None)
            return False
        self.fetched_to = max(self.fetched_to, item_height(items[-1]))
        self.in_flight += 1
        return True

    def applied(self) -> None:
        """A batch taken by `on_blocks` is done (applied, refused or failed)."""
        self.in_flight -= 1

    def refused(self, kid: str) -> None:
        """A block from `kid` failed its checks: forget its height and what was fetched, so
        batches fetched after that one are refused the same way and fetching starts again from
        our head."""
        self.peer_heights.pop(kid, None)
        self.pending = None
        self.fetched_to = 0


class ServeQueue:
    """The serving side of block sync: one batch per peer at a time (see module docstring)."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[int, int] | None] = {}  # peer -> its queued request

    def request(self, kid: str, start: int, limit: int) -> bool:
        """True: serve it now. False: a batch for this peer is being sent; this request
        replaces any waiting one and comes from `next` when that send is done (a syncing peer
        asks for the next batch as soon as one arrives, possibly before our send finished)."""
        if kid in self._waiting:
            self._waiting[kid] = (start, limit)
            return False
        self._waiting[kid] = None
        return True

    def next(self, kid: str) -> tuple[int, int] | None:
        """The request that waited while a batch was sent, or None (then call `done`)."""
        queued = self._waiting.get(kid)
        if queued is not None:
            self._waiting[kid] = None
        return queued

    def done(self, kid: str) -> None:
        self._waiting.pop(kid, None)
