"""Byzantine validators: they follow the protocol's state (a real state machine without
the double-sign guard) and lie on top of it: equivocating proposals, double votes, votes
for unknown blocks, messages for wrong heights and chain ids, and garbage bytes.
`ByzantineProposer` also proposes hostile blocks when it is the proposer: stamped 2**62 - 1,
the year 3000, not after the parent or just beyond the clock drift, or oversized; and it
prevotes for anything."""

from __future__ import annotations

import random
from typing import Any

from bedrock.canonical import canonical
from ledger_core.consensus.messages import PROPOSAL, Proposal, Signed, Value, Vote, sign
from ledger_core.consensus.signer_state import Lock
from ledger_core.consensus.timeliness import MAX_DRIFT_MS

from .node import MAX_SKEW_MS, MAX_VALUE_BYTES, SimNode, make_value

FAR_FUTURE_MS = 32_503_680_000_000  # the year 3000


class UnguardedSigner:
    """Signs whatever it is asked to, with no memory: what a faulty validator does."""

    def __init__(self, key, chain_id: str) -> None:
        self.key = key
        self.key_id = key.key_id
        self.chain_id = chain_id

    def resume(self, height: int) -> None:
        return None

    def signed_at(self, height: int) -> list[Signed]:
        return []

    def sign(self, body, lock: Lock, payload: Any = None) -> Signed:
        return sign(self.chain_id, body, self.key_id, self.key.sign, payload)


class ByzantineNode(SimNode):
    honest = False

    def __init__(self, sim, index: int, key) -> None:
        super().__init__(sim, index, key)
        self.rng = random.Random(sim.rng.getrandbits(64))
        self.p_equivocate = self.rng.choice((0.5, 0.9, 1.0))
        self.p_double = self.rng.choice((0.3, 0.6, 1.0))
        self.p_noise = self.rng.choice((0.2, 0.5))
        self._raw = UnguardedSigner(key, sim.chain_id)

    def make_signer(self) -> Any:
        return self._raw

    def boot(self) -> None:
        super().boot()
        self.sim.sched.after(
            self.rng.randint(1, self.sim.gossip_ms), self._noise_tick, self.incarnation
        )

    def _split(self) -> tuple[list[int], list[int]]:
        peers = self.sim.peers_of(self.index)
        self.rng.shuffle(peers)
        k = self.rng.randint(0, len(peers))
        return peers[:k], peers[k:]

    def _sign(self, body, payload: Any = None) -> Signed:
        return self._raw.sign(body, Lock(), payload)

    def on_broadcast(self, m: Signed) -> None:
        b = m.body
        if b.type == PROPOSAL and self.rng.random() < self.p_equivocate:
            t = max(self.clock(), self.parent_time(b.height) + 1)
            if self.rng.random() < 0.8:
                alt = make_value(b.height, self.index, self.rng.getrandbits(32), t)
                payload = alt.payload
            else:  # a block id that does not match its payload: invalid
                alt = make_value(b.height, self.index, self.rng.getrandbits(32), t)
                payload = {"height": b.height, "proposer": self.index, "nonce": -1}
            other = self._sign(Proposal(b.height, b.round, alt.block_id, b.valid_round), payload)
        elif b.type != PROPOSAL and self.rng.random() < self.p_double:
            choice = self.rng.random()
            if choice < 0.4 and b.block_id is not None:
                bid = None
            elif choice < 0.7:
                bid = self._known_other_block(b)
            else:
                bid = self.rng.getrandbits(256).to_bytes(32, "big").hex()  # unknown block
            if bid == b.block_id:
                bid = self.rng.getrandbits(256).to_bytes(32, "big").hex()
            other = self._sign(Vote(b.type, b.height, b.round, bid))
        else:
            self.broadcast(m)
            return
        first, second = self._split()
        self.send_to(m.encode(), first)
        self.send_to(other.encode(), second)

    def _known_other_block(self, b) -> str | None:
        sm = self.sm
        if sm is None:
            return None
        ids = sorted({p.block_id for p in sm.proposals(b.round) if p.block_id != b.block_id})
        return self.rng.choice(ids) if ids else None

    def _noise_tick(self, incarnation: int) -> None:
        if incarnation != self.incarnation or self.sm is None:
            return
        if self.rng.random() < self.p_noise:
            self._send_noise()
        self.sim.sched.after(
            self.rng.randint(50, self.sim.gossip_ms), self._noise_tick, incarnation
        )

    def _send_noise(self) -> None:
        sm = self.sm
        assert sm is not None
        h, r = sm.height, sm.round
        kind = self.rng.randrange(7)
        rand_id = self.rng.getrandbits(256).to_bytes(32, "big").hex()
        if kind == 0:
            data = self.rng.randbytes(self.rng.randint(0, 300))
        elif kind == 1:  # wrong chain id, properly signed
            data = sign(
                "other-chain", Vote("prevote", h, r, rand_id), self.key.key_id, self.key.sign
            ).encode()
        elif kind == 2:  # wrong heights
            dh = self.rng.choice((-2, -1, 1, 2, 50))
            data = self._sign(
                Vote(self.rng.choice(("prevote", "precommit")), max(h + dh, 0), r, rand_id)
            ).encode()
        elif kind == 3:  # far future rounds
            data = self._sign(Vote("prevote", h, r + self.rng.randint(1, 10_000), rand_id)).encode()
        elif kind == 4:  # valid JSON, wrong shape
            data = canonical(
                {"type": "precommit", "height": h, "round": "x", "chain_id": self.sim.chain_id}
            )
        elif kind == 5:  # a vote with a forged signature
            v = self._sign(Vote("precommit", h, r, rand_id))
            data = Signed(v.chain_id, v.body, v.validator, bytes(64)).encode()
        else:  # a vote for an unknown block in the current round
            data = self._sign(
                Vote(self.rng.choice(("prevote", "precommit")), h, r, rand_id)
            ).encode()
        peers = self.sim.peers_of(self.index)
        self.send_to(data, [self.rng.choice(peers)])


class ByzantineProposer(ByzantineNode):
    """A Byzantine validator whose proposals are hostile blocks (see module docstring)."""

    def __init__(self, sim, index: int, key) -> None:
        super().__init__(sim, index, key)
        self.p_hostile = self.rng.choice((0.5, 0.9, 1.0))
        self.proposed_hostile = 0

    def get_value(self, height: int) -> Value:
        honest = super().get_value(height)
        if self.rng.random() >= self.p_hostile:
            return honest
        self.proposed_hostile += 1
        t = honest.payload["time"]
        nonce = self.rng.getrandbits(32)
        kind = self.rng.randrange(5)
        if kind == 0:
            return make_value(height, self.index, nonce, 2**62 - 1)
        if kind == 1:
            return make_value(height, self.index, nonce, FAR_FUTURE_MS)
        if kind == 2:
            return make_value(height, self.index, nonce, self.parent_time(height))
        if kind == 3:
            return make_value(height, self.index, nonce, t, '"' * MAX_VALUE_BYTES)
        # beyond the drift of every honest clock, at this moment
        return make_value(height, self.index, nonce, t + MAX_DRIFT_MS + 2 * MAX_SKEW_MS + 1)

    def valid(self, value: Value) -> bool:
        return True
