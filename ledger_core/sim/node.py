"""Simulated validators. An honest node runs the real Tendermint state machine with a
GuardedSigner on a virtual disk; a crash drops everything in memory except that disk and
the committed chain (the node's block store).

A value (the simulated block) carries its proposer's time: an honest proposer stamps
`max(its clock, parent time + 1)`; every node's clock is the virtual time plus its own fixed
skew (within `MAX_SKEW_MS`). An honest validator's `valid` applies the real block-time rule
(`consensus.timeliness.untimely`) against its own clock and bounds the value's encoded size
(`MAX_VALUE_BYTES`), as a real validator bounds block time and size."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bedrock.canonical import canonical, digest_hex
from ledger_core.consensus.evidence import EvidencePool
from ledger_core.consensus.messages import MessageError, Signed, Value, decode_message
from ledger_core.consensus.signer_state import GuardedSigner, MemoryStore
from ledger_core.consensus.tendermint import (
    Broadcast,
    Decide,
    EvidenceFound,
    ScheduleTimeout,
    Tendermint,
)
from ledger_core.consensus.timeliness import untimely
from ledger_core.crypto.keys import KeyPair

if TYPE_CHECKING:
    from .runner import Simulation

SYNC_PREFIX = b"sync:"
CLOCK_BASE_MS = 1_000_000  # every node's clock reads this (plus its skew) at virtual time 0
MAX_SKEW_MS = 2_000
MAX_VALUE_BYTES = 1024
_VALUE_KEYS = frozenset({"height", "proposer", "nonce", "time", "pad"})


def make_value(height: int, proposer: int, nonce: int, time_ms: int, pad: str = "") -> Value:
    payload = {"height": height, "proposer": proposer, "nonce": nonce, "time": time_ms, "pad": pad}
    return Value(digest_hex(payload), payload)


def value_time(value: Value) -> int:
    """The time a (decided, hence well-formed) value carries."""
    return value.payload["time"]


def value_fault(value: Value, height: int, parent_time: int, now_ms: int) -> str | None:
    """The simulator's block rules, None when `value` passes: the id commits to the payload,
    which names the height, stays within `MAX_VALUE_BYTES` and carries a timely time."""
    p = value.payload
    if type(p) is not dict or p.keys() != _VALUE_KEYS or p["height"] != height:
        return "bad_value"
    if type(p["pad"]) is not str or len(canonical(p)) > MAX_VALUE_BYTES:
        return "value_too_large"
    if digest_hex(p) != value.block_id:
        return "bad_block_id"
    return untimely(p["time"], parent_time, now_ms)


class SimNode:
    honest = True

    def __init__(self, sim: Simulation, index: int, key: KeyPair) -> None:
        self.sim = sim
        self.index = index
        self.key = key
        self.disk = MemoryStore()  # survives crashes
        self.chain: list[Decide] = []  # the block store: survives crashes
        self.evidence = EvidencePool()
        self.up = False
        self.incarnation = 0
        self.sm: Tendermint | None = None
        self.rejected = 0
        self._nonce = 0
        self._last_pos: Any = None
        self._catchup_sent: dict[tuple[int, int], int] = {}
        self._sync_asked: dict[int, int] = {}
        self.skew_ms = sim.clock_skew(index)

    # -- clock and chain -----------------------------------------------------------------

    def clock(self) -> int:
        """This node's wall clock (virtual time plus its skew)."""
        return CLOCK_BASE_MS + self.sim.sched.now + self.skew_ms

    def parent_time(self, height: int) -> int:
        """The time of the block before `height` in this node's chain (0 for the first)."""
        return value_time(self.chain[height - 2].value) if 2 <= height <= len(self.chain) + 1 else 0

    # -- life cycle ----------------------------------------------------------------------

    def make_signer(self) -> Any:
        return GuardedSigner(self.key, self.sim.chain_id, self.disk)

    def boot(self) -> None:
        self.up = True
        self.incarnation += 1
        self._last_pos = None
        self._catchup_sent = {}
        self._sync_asked = {}
        self.sm = self.sim.engine(
            self.sim.chain_id,
            self.sim.validators,
            self.make_signer(),
            self.get_value,
            self.valid,
            self.sim.timeouts,
            self.sim.verifier,
        )
        self.handle(self.sm.start_height(len(self.chain) + 1))
        self.sim.sched.after(self.sim.gossip_ms, self._gossip_tick, self.incarnation)

    def crash(self) -> None:
        self.up = False
        self.sm = None
        self.incarnation += 1

    # -- callbacks for the state machine -------------------------------------------------

    def get_value(self, height: int) -> Value:
        self._nonce += 1
        t = max(self.clock(), self.parent_time(height) + 1)
        return make_value(height, self.index, self.incarnation * 1000 + self._nonce, t)

    def valid(self, value: Value) -> bool:
        assert self.sm is not None
        h = self.sm.height
        return value_fault(value, h, self.parent_time(h), self.clock()) is None

    # -- events --------------------------------------------------------------------------

    def receive(self, src: int, data: bytes) -> None:
        if not self.up or self.sm is None:
            return
        if data.startswith(SYNC_PREFIX):
            self._on_sync_request(src, data)
            return
        try:
            m = decode_message(data, self.sim.chain_id)
            outs = self.sm.on_message(m)
        except MessageError:
            self.rejected += 1
            return
        if m.height < self.sm.height:
            self._catch_up(src, m.height)
        elif m.height > self.sm.height + 1:
            self._request_sync(src)
        self.handle(outs)

    def _request_sync(self, dst: int) -> None:
        """We are behind by more than a height: ask that peer for the blocks we lack (the
        simulator's stand-in for block sync), at most once per gossip interval per peer."""
        assert self.sm is not None
        now = self.sim.sched.now
        last = self._sync_asked.get(dst)
        if last is not None and now - last < self.sim.gossip_ms:
            return
        self._sync_asked[dst] = now
        self.sim.net.send(self.index, dst, SYNC_PREFIX + str(self.sm.height).encode())

    def _on_sync_request(self, src: int, data: bytes) -> None:
        try:
            height = int(data[len(SYNC_PREFIX) :].decode("ascii"))
        except ValueError:
            self.rejected += 1
            return
        self._catch_up(src, height)

    def _catch_up(self, dst: int, height: int) -> None:
        """A peer is behind: send it the proposal and commit that decided its height and the
        next one (what a block-sync reply carries), at most once per gossip interval."""
        now = self.sim.sched.now
        last = self._catchup_sent.get((dst, height))
        if last is not None and now - last < self.sim.gossip_ms:
            return
        self._catchup_sent[(dst, height)] = now
        for h in (height, height + 1):
            if 1 <= h <= len(self.chain):
                d = self.chain[h - 1]
                for m in (d.proposal, *d.commit):
                    self.sim.net.send(self.index, dst, m.encode())

    def _timeout(self, incarnation: int, t: ScheduleTimeout) -> None:
        if incarnation == self.incarnation and self.sm is not None:
            self.handle(self.sm.on_timeout(t))

    def _next_height(self, incarnation: int, height: int) -> None:
        if incarnation == self.incarnation and self.sm is not None and self.sm.height == height:
            self.handle(self.sm.start_height(height + 1))

    def _gossip_tick(self, incarnation: int) -> None:
        """Re-gossip when height and round did not move for a whole interval (lost messages)."""
        if incarnation != self.incarnation or self.sm is None:
            return
        pos = (self.sm.height, self.sm.round)
        if pos == self._last_pos:
            for m in self.sm.gossip_messages():
                self.broadcast(m)
        self._last_pos = pos
        self.sim.sched.after(self.sim.gossip_ms, self._gossip_tick, incarnation)

    def broadcast(self, m: Signed) -> None:
        self.send_to(m.encode(), self.sim.peers_of(self.index))

    def send_to(self, data: bytes, peers: list[int]) -> None:
        for p in peers:
            self.sim.net.send(self.index, p, data)

    def handle(self, outs: list) -> None:
        inc = self.incarnation
        for o in outs:
            if isinstance(o, Broadcast):
                self.on_broadcast(o.message)
            elif isinstance(o, ScheduleTimeout):
                self.sim.sched.after(o.delay_ms, self._timeout, inc, o)
            elif isinstance(o, Decide):
                self.sim.on_decide(self, o)
                self.chain.append(o)
                self.sim.sched.after(self.sim.commit_ms, self._next_height, inc, o.height)
            elif isinstance(o, EvidenceFound):
                self.evidence.add(o.evidence)

    def on_broadcast(self, m: Signed) -> None:
        self.broadcast(m)
