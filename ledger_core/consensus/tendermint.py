"""Tendermint consensus (Buchman, Kwon, Milosevic 2018, "The latest gossip on BFT
consensus", Algorithm 1) as a pure, deterministic state machine: no I/O, no clock, no
randomness. Rule numbers in comments are the line numbers of Algorithm 1. Equal weights,
n = 3f+1, quorum floor(2n/3)+1, round skip on f+1 = floor(n/3)+1 senders, round-robin
proposer `validators[(height + round) % n]`, timeouts base + round * delta per step.

Driving it (from asyncio, the simulator or a test)
--------------------------------------------------
    signer = GuardedSigner.open(data_dir / "signer_state.json", node_key, chain_id)  # or None: full node
    sm = Tendermint(chain_id, ValidatorSet(public_keys), signer, get_value, valid, TimeoutConfig())
    outputs = sm.start_height(h)             # h = last committed height + 1
    outputs = sm.on_bytes(frame)             # = sm.on_message(decode_message(frame, chain_id))
    outputs = sm.on_timeout(t)               # t: a ScheduleTimeout it asked for earlier

The machine is not thread-safe: call it from one task (the node's consensus loop). Every
call returns a list of outputs, to be carried out in order:

* `Broadcast(message)`: send `message.encode()` to every peer. The machine has already
  counted its own message; do not feed it back.
* `ScheduleTimeout(height, round, step, delay_ms)`: after `delay_ms` call
  `sm.on_timeout(t)` with that same object (`loop.call_later(t.delay_ms / 1000, ...)`).
  Stale timeouts are ignored, so timers never need cancelling.
* `Decide(height, round, value, proposal, commit)`: `value` is final. `commit` holds the
  signed precommits (at least a quorum) for `value.block_id` at `round`; each signature
  covers `signing_bytes(DOMAIN_VOTE, chain_id, {"type": "precommit", "height": H,
  "round": R, "block_id": B})`. The caller stores the block, carries the commit in the
  next block, then calls `sm.start_height(height + 1, next_validators)` (a new
  ValidatorSet where the set changes). Until then the machine is in step "commit" and
  buffers messages of the next height.
* `EvidenceFound(evidence)`: a validator signed two different messages for one
  height/round/step (`evidence.DoubleSign`, canonical JSON); keep and gossip it.

`on_message`/`on_bytes` raise `MessageError` (with a stable `.code`) for a message to drop
that says something about the peer: garbage, too large, wrong chain id, unknown validator,
bad signature, a proposal from a non-proposer. Old heights, duplicates and far-future
rounds beyond a small per-sender window are ignored silently (`[]`).

Callbacks: `get_value(height) -> Value` (this node proposes a new value) and
`valid(value) -> bool` (the block rules; it must also check that `value.block_id` commits
to `value.payload`, which signatures do not cover). Both must be deterministic and must not
call back into the machine; an exception from `valid` counts as "not valid".

Gossip. Algorithm 1 assumes that what one correct node receives, every correct node
eventually receives. When height and round have not moved for a while (the simulator uses
one second), re-send `gossip_messages()`: the proposals of the height with the prevotes
that justify their valid round, all votes of the current and the previous round, this
node's own votes, and the commit once decided. A peer that sends messages of a lower
height is behind: send it the stored proposal and commit of that height (or let block
sync do so); `sm.height`, `sm.round`, `sm.step` and `status()` say where this node is.

Crashes. Before any proposal or vote is signed, the signer (signer_state.GuardedSigner)
persists height/round/step, the votes of the height and the lock with its payload and
proof of lock. After a restart `start_height` resumes at the round and lock found there,
re-sends what was signed before the crash, and the signer refuses anything that would
equivocate (re-sending the earlier message instead).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .evidence import DoubleSign, EvidenceError
from .messages import (
    PRECOMMIT,
    PREVOTE,
    PROPOSAL,
    Body,
    CachedVerifier,
    MessageError,
    Proposal,
    Signed,
    Value,
    Vote,
    decode_message,
)
from .signer_state import DoubleSignRefused, GuardedSigner, Lock
from .validators import ValidatorSet

PROPOSE = "propose"
COMMIT = "commit"  # decided, waiting for start_height(height + 1)
_STEP_RANK = {PROPOSE: 0, PREVOTE: 1, PRECOMMIT: 2, COMMIT: 3}


@dataclass(frozen=True, slots=True)
class TimeoutConfig:
    """Timeout of each step in round r: base + r * delta (milliseconds)."""

    propose_ms: int = 3000
    propose_delta_ms: int = 500
    prevote_ms: int = 1000
    prevote_delta_ms: int = 500
    precommit_ms: int = 1000
    precommit_delta_ms: int = 500

    def for_step(self, step: str, round_: int) -> int:
        if step == PROPOSE:
            return self.propose_ms + round_ * self.propose_delta_ms
        if step == PREVOTE:
            return self.prevote_ms + round_ * self.prevote_delta_ms
        return self.precommit_ms + round_ * self.precommit_delta_ms


@dataclass(frozen=True, slots=True)
class Broadcast:
    message: Signed


@dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    height: int
    round: int
    step: str
    delay_ms: int


@dataclass(frozen=True, slots=True)
class Decide:
    height: int
    round: int
    value: Value
    proposal: Signed
    commit: tuple[Signed, ...]


@dataclass(frozen=True, slots=True)
class EvidenceFound:
    evidence: DoubleSign


Output = Broadcast | ScheduleTimeout | Decide | EvidenceFound


class Tendermint:
    """One node's consensus instance. See the module docstring for the interface."""

    def __init__(
        self,
        chain_id: str,
        validators: ValidatorSet,
        signer: GuardedSigner | None,
        get_value: Callable[[int], Value],
        valid: Callable[[Value], bool],
        timeouts: TimeoutConfig | None = None,
        verify: Callable[[bytes, bytes, bytes], bool] | None = None,
        max_future_rounds: int = 4,
        max_buffered_per_sender: int = 32,
        max_alt_proposals: int = 4,
    ) -> None:
        self.chain_id = chain_id
        self.validators = validators
        self.signer = signer
        self.get_value = get_value
        self.valid = valid
        self.timeouts = timeouts or TimeoutConfig()
        self.verify = verify or CachedVerifier()
        self.max_future_rounds = max_future_rounds
        self.max_buffered_per_sender = max_buffered_per_sender
        self.max_alt_proposals = max_alt_proposals
        self.height = 0
        self.round = 0
        self.step = COMMIT
        self.decision: Decide | None = None
        self._future: dict[str, list[Signed]] = {}
        self._reset_height()

    # -- state ---------------------------------------------------------------------------

    def _reset_height(self) -> None:
        self.locked_round = -1
        self.locked_id: str | None = None
        self.valid_round = -1
        self.valid_value: Value | None = None
        # Per round, every distinct proposal from that round's proposer (block id -> message,
        # arrival order, at most 1 + max_alt_proposals) and whether `valid` accepted it.
        self._proposals: dict[int, dict[str, Signed]] = {}
        self._proposal_ok: dict[tuple[int, str], bool] = {}
        # First vote of each validator per (type, round), and the later conflicting votes of
        # an equivocator kept where they name nil or a known proposal (the paper counts
        # every message received; this keeps that counting bounded).
        self._votes: dict[tuple[str, int], dict[str, Signed]] = {}
        self._extra_votes: dict[tuple[str, int], dict[str, dict[str | None, Signed]]] = {}
        self._tally: dict[tuple[str, int], dict[str | None, int]] = {}
        self._senders: dict[int, set[str]] = {}
        self._sender_future_rounds: dict[str, set[int]] = {}
        self._commit_rounds: set[int] = set()
        self._skip_rounds: set[int] = set()
        self._prevote_timer: set[int] = set()
        self._precommit_timer: set[int] = set()
        self._line36: set[int] = set()
        self._offences: set[tuple[str, int, str]] = set()
        self._locked_pol: tuple[Signed, ...] = ()
        self._locked_payload: Any = None

    @property
    def key_id(self) -> str | None:
        return None if self.signer is None else self.signer.key_id

    def status(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "round": self.round,
            "step": self.step,
            "locked_round": self.locked_round,
            "valid_round": self.valid_round,
        }

    # -- events --------------------------------------------------------------------------

    def start_height(self, height: int, validators: ValidatorSet | None = None) -> list[Output]:
        """Begin consensus for `height` (with that height's validator set, if it changed)."""
        if height <= self.height and self.height != 0:
            raise ValueError(f"height {height} is not above {self.height}")
        if validators is not None:
            self.validators = validators
        self.height = height
        self.decision = None
        self._reset_height()
        start_round = 0
        if self.signer is not None:
            resumed = self.signer.resume(height)
            if resumed is not None:
                start_round, lock = resumed
                self.locked_round, self.locked_id = lock.round, lock.block_id
                self._locked_pol, self._locked_payload = lock.pol, lock.payload
                if lock.round >= 0 and lock.payload is not None:
                    # The locked value had a proof of lock at its round: a restarted
                    # proposer may re-propose it as its valid value (line 15).
                    self.valid_round, self.valid_value = (
                        lock.round,
                        Value(lock.block_id, lock.payload),
                    )
        out: list[Output] = []
        if self.signer is not None:
            # What this node signed at this height before a crash counts and is re-sent.
            for m in self.signer.signed_at(height):
                if m.type != PROPOSAL:
                    self._record(m, out)
            for m in self._locked_pol:  # the proof of lock kept with the lock
                if m.height == height and m.type == PREVOTE:
                    try:
                        self._accept(m, out)
                    except MessageError:
                        continue
        self._start_round(start_round, out)
        buffered = [m for ms in self._future.values() for m in ms if m.height == height]
        self._future = {}
        for m in buffered:
            if self.step == COMMIT:
                break
            try:
                self._accept(m, out)
            except MessageError:
                continue
        self._evaluate(out)
        return out

    def on_bytes(self, data: bytes, max_bytes: int | None = None) -> list[Output]:
        kwargs = {} if max_bytes is None else {"max_bytes": max_bytes}
        return self.on_message(decode_message(data, self.chain_id, **kwargs))

    def on_message(self, m: Signed) -> list[Output]:
        if m.chain_id != self.chain_id:
            raise MessageError("wrong_chain", f"message for chain {m.chain_id!r}")
        if m.height < self.height:
            return []
        if m.height > self.height:
            if m.height == self.height + 1 or self.height == 0:
                self._buffer(m)
            return []
        if self.step == COMMIT:
            return []
        out: list[Output] = []
        if self._accept(m, out):
            self._evaluate(out)
        return out

    def on_timeout(self, t: ScheduleTimeout) -> list[Output]:
        out: list[Output] = []
        if t.height != self.height or t.round != self.round or self.step == COMMIT:
            return out
        if t.step == PROPOSE and self.step == PROPOSE:  # line 57
            self.step = PREVOTE
            self._sign_and_send(Vote(PREVOTE, self.height, self.round, None), out)
        elif t.step == PREVOTE and self.step == PREVOTE:  # line 61
            self.step = PRECOMMIT
            self._sign_and_send(Vote(PRECOMMIT, self.height, self.round, None), out)
        elif t.step == PRECOMMIT:  # line 65
            self._start_round(self.round + 1, out)
        else:
            return out
        self._evaluate(out)
        return out

    def gossip_messages(self) -> list[Signed]:
        """What to re-send when progress stalls, so that every node eventually holds what any
        correct node holds (the paper's gossip assumption): the proposals of this height with
        the prevotes that justify their valid round, all votes of the current and the previous
        round, this node's own messages, and the commit once decided."""
        out: dict[tuple[str, int, str, str | None], Signed] = {}

        def add(m: Signed) -> None:
            out.setdefault((m.type, m.round, m.validator, m.block_id), m)

        for _, props in sorted(self._proposals.items()):
            for p in props.values():
                add(p)
                vr = p.body.valid_round
                for v in self._votes.get((PREVOTE, vr), {}).values() if vr >= 0 else ():
                    if v.block_id == p.block_id:
                        add(v)
        if self.valid_value is not None and self.valid_round >= 0:
            for v in self._votes.get((PREVOTE, self.valid_round), {}).values():
                if v.block_id == self.valid_value.block_id:
                    add(v)
        me = self.key_id
        for (_, r), votes in sorted(self._votes.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if r >= self.round - 1:  # a node one round behind needs them to move on
                for v in votes.values():
                    add(v)
            elif me is not None and me in votes:
                add(votes[me])
        if self.decision is not None:
            for v in self.decision.commit:
                add(v)
        return list(out.values())

    def proposals(self, round_: int) -> list[Signed]:
        """The proposals known for `round_` of this height, in arrival order."""
        return list(self._proposals.get(round_, {}).values())

    # -- message log ---------------------------------------------------------------------

    def _buffer(self, m: Signed) -> None:
        lst = self._future.setdefault(m.validator, [])
        if len(lst) < self.max_buffered_per_sender and m not in lst:
            lst.append(m)

    def _accept(self, m: Signed, out: list[Output]) -> bool:
        """Check membership, signature and round limits, then record; True when new."""
        vs = self.validators
        if m.validator not in vs:
            raise MessageError("unknown_validator", "the signer is not a validator at this height")
        r = m.round
        if m.type == PROPOSAL:
            if m.validator != vs.proposer(self.height, r):
                raise MessageError("not_proposer", f"the signer is not the proposer of round {r}")
            cur = self._proposals.get(r, {}).get(m.block_id)
            if (
                cur is not None
                and cur.body == m.body
                and (self._proposal_ok[(r, cur.block_id)] or cur.payload == m.payload)
            ):
                return False
        else:
            key = (m.type, r)
            cur = self._votes.get(key, {}).get(m.validator)
            if cur is not None and (
                cur.body == m.body
                or m.block_id in self._extra_votes.get(key, {}).get(m.validator, ())
            ):
                return False
        if not self.verify(vs.public_key(m.validator), m.signature, m.sign_bytes()):
            raise MessageError("bad_signature", "the signature does not verify")
        if r > self.round:
            rounds = self._sender_future_rounds.setdefault(m.validator, set())
            if r not in rounds:
                if len(rounds) >= self.max_future_rounds:
                    return False
                rounds.add(r)
        return self._record(m, out)

    def _record(self, m: Signed, out: list[Output]) -> bool:
        """Add a verified message (or one of our own) to the log; report double signs."""
        r = m.round
        if m.type == PROPOSAL:
            props = self._proposals.setdefault(r, {})
            bid = m.block_id
            assert bid is not None
            cur = props.get(bid)
            if cur is None:
                if props:
                    self._offence(next(iter(props.values())), m, out)
                    if len(props) > self.max_alt_proposals:
                        return False
                props[bid] = m
                self._proposal_ok[(r, bid)] = self._is_valid(m.value)
            elif cur.body != m.body:
                self._offence(cur, m, out)
                return False
            elif (
                not self._proposal_ok[(r, bid)]
                and cur.payload != m.payload
                and self._is_valid(m.value)
            ):
                props[bid] = m
                self._proposal_ok[(r, bid)] = True
            else:
                return False
        else:
            key = (m.type, r)
            votes = self._votes.setdefault(key, {})
            cur = votes.get(m.validator)
            if cur is None:
                votes[m.validator] = m
            else:
                if cur.body == m.body:
                    return False
                self._offence(cur, m, out)
                extra = self._extra_votes.setdefault(key, {}).setdefault(m.validator, {})
                if m.block_id in extra or not (
                    m.block_id is None or m.block_id in self._proposals.get(r, {})
                ):
                    return False
                extra[m.block_id] = m
            tally = self._tally.setdefault(key, {})
            count = tally.get(m.block_id, 0) + 1
            tally[m.block_id] = count
            if m.type == PRECOMMIT and m.block_id is not None and count >= self.validators.quorum:
                self._commit_rounds.add(r)
        senders = self._senders.setdefault(r, set())
        senders.add(m.validator)
        if r > self.round and len(senders) >= self.validators.skip:
            self._skip_rounds.add(r)
        return True

    def _offence(self, first: Signed, second: Signed, out: list[Output]) -> None:
        k = (first.validator, first.round, first.type)
        if k in self._offences:
            return
        self._offences.add(k)
        try:
            out.append(EvidenceFound(DoubleSign.of(first, second)))
        except EvidenceError:
            pass

    def _is_valid(self, value: Value) -> bool:
        try:
            return bool(self.valid(value))
        except Exception:  # a throwing validity callback means "not valid", never a crash
            return False

    def _count(self, kind: str, r: int) -> int:
        return len(self._votes.get((kind, r), ()))

    def _votes_for(self, kind: str, r: int, block_id: str | None) -> int:
        return self._tally.get((kind, r), {}).get(block_id, 0)

    # -- Algorithm 1 ---------------------------------------------------------------------

    def _start_round(self, r: int, out: list[Output]) -> None:  # line 11
        self.round = r
        self.step = PROPOSE
        for rounds in self._sender_future_rounds.values():
            rounds.difference_update([x for x in rounds if x <= r])
        self._skip_rounds = {x for x in self._skip_rounds if x > r}
        if self.key_id is not None and self.validators.proposer(self.height, r) == self.key_id:
            if self.valid_value is not None:
                value = self.valid_value
            else:
                value = self.get_value(self.height)
            self._sign_and_send(
                Proposal(self.height, r, value.block_id, self.valid_round), out, value.payload
            )
        # Scheduled for the proposer too: harmless once its own proposal moved it on, and
        # it keeps a proposer that may not sign (after a restart) from waiting forever.
        out.append(ScheduleTimeout(self.height, r, PROPOSE, self.timeouts.for_step(PROPOSE, r)))

    def _sign_and_send(self, body: Body, out: list[Output], payload: Any = None) -> None:
        if self.signer is None or self.signer.key_id not in self.validators:
            return
        try:
            m = self.signer.sign(body, self._lock(), payload)
        except DoubleSignRefused as exc:
            # After a restart: re-send what was signed at this step before the crash.
            if exc.previous is None or exc.previous.type == PROPOSAL:
                return
            m = exc.previous
        self._record(m, out)
        out.append(Broadcast(m))

    def _lock(self) -> Lock:
        return Lock(self.locked_round, self.locked_id, self._locked_payload, self._locked_pol)

    def _lock_allows(self, block_id: str, valid_round: int) -> bool:
        """Lines 23 and 29: lockedRound <= vr (vr = -1 for line 22) or lockedValue = v."""
        return self.locked_round <= valid_round or self.locked_id == block_id

    def _evaluate(self, out: list[Output]) -> None:
        while self.step != COMMIT and self._apply_rule(out):
            pass

    def _apply_rule(self, out: list[Output]) -> bool:
        """Fire the first enabled upon-rule; False when none is enabled."""
        h, r, q = self.height, self.round, self.validators.quorum
        for rr in sorted(self._commit_rounds):  # line 49
            for prop, ok in self._round_proposals(rr):
                if ok and self._votes_for(PRECOMMIT, rr, prop.block_id) >= q:
                    self._decide(rr, prop, out)
                    return True
        if self._skip_rounds:  # line 55
            self._start_round(max(self._skip_rounds), out)
            return True
        if self.step == PROPOSE:
            for prop, ok in self._round_proposals(r):
                vr = prop.body.valid_round
                if vr == -1:  # line 22
                    yes = ok and self._lock_allows(prop.block_id, -1)
                elif vr < r and self._votes_for(PREVOTE, vr, prop.block_id) >= q:  # line 28
                    yes = ok and self._lock_allows(prop.block_id, vr)
                else:
                    continue
                self.step = PREVOTE
                self._sign_and_send(Vote(PREVOTE, h, r, prop.block_id if yes else None), out)
                return True
        if self.step == PREVOTE:
            if r not in self._prevote_timer and self._count(PREVOTE, r) >= q:  # line 34
                self._prevote_timer.add(r)
                out.append(ScheduleTimeout(h, r, PREVOTE, self.timeouts.for_step(PREVOTE, r)))
                return True
            if self._votes_for(PREVOTE, r, None) >= q:  # line 44
                self.step = PRECOMMIT
                self._sign_and_send(Vote(PRECOMMIT, h, r, None), out)
                return True
        if r not in self._line36 and _STEP_RANK[self.step] >= _STEP_RANK[PREVOTE]:  # line 36
            for prop, ok in self._round_proposals(r):
                if ok and self._votes_for(PREVOTE, r, prop.block_id) >= q:
                    self._line36.add(r)
                    self.valid_value, self.valid_round = prop.value, r
                    if self.step == PREVOTE:
                        self.locked_round, self.locked_id = r, prop.block_id
                        self._locked_payload = prop.payload
                        self._locked_pol = tuple(self._votes_with(PREVOTE, r, prop.block_id))
                        self.step = PRECOMMIT
                        self._sign_and_send(Vote(PRECOMMIT, h, r, prop.block_id), out)
                    return True
        if r not in self._precommit_timer and self._count(PRECOMMIT, r) >= q:  # line 47
            self._precommit_timer.add(r)
            out.append(ScheduleTimeout(h, r, PRECOMMIT, self.timeouts.for_step(PRECOMMIT, r)))
            return True
        return False

    def _round_proposals(self, r: int) -> list[tuple[Signed, bool]]:
        props = self._proposals.get(r)
        if not props:
            return []
        return [(p, self._proposal_ok[(r, bid)]) for bid, p in props.items()]

    def _votes_with(self, kind: str, r: int, bid: str | None) -> list[Signed]:
        """The votes of (kind, r) for `bid`, first and later ones, in validator order."""
        key = (kind, r)
        votes = [v for v in self._votes.get(key, {}).values() if v.block_id == bid]
        votes += [e[bid] for e in self._extra_votes.get(key, {}).values() if bid in e]
        order = self.validators.index
        return sorted(votes, key=lambda v: order[v.validator])

    def _decide(self, r: int, prop: Signed, out: list[Output]) -> None:  # line 49
        commit = tuple(self._votes_with(PRECOMMIT, r, prop.block_id))
        self.step = COMMIT
        self.decision = Decide(self.height, r, prop.value, prop, commit)
        out.append(self.decision)
