"""Double-sign protection: persist what was last signed (and the lock) before releasing a signature.

A `GuardedSigner` signs proposals and votes for one validator key. Before a signature
leaves it, the last signed height/round/step, the signed message and the current lock
are written to a store (`FileStore`: atomic replace + fsync of file and directory).
It refuses

* a message at a lower height/round/step than the last one signed (a regression), and
* a different message at the same height/round/step (a double vote),

also after the process was killed and restarted, because the state is reloaded from the
store. Signing the very same message again returns the stored signature (re-broadcast).
Ed25519 is deterministic: the signature is computed in memory, persisted together with
the state, and only then returned.

File format (canonical JSON):
    {"version": 1, "chain_id": C, "key_id": K, "height": H, "round": R, "step": S,
     "signed": [M, ...],
     "lock": {"round": LR, "block_id": LB | null, "payload": P, "pol": [M, ...]}}
where M is the wire form (payload null) of a message signed at height H (all of them, at
most MAX_KEPT_MESSAGES, oldest nil votes dropped first). After a restart the node re-sends
them, so what it cast before the crash still counts, as it would for a node that never
crashed (the paper's liveness argument needs every vote of a correct node delivered). The lock
keeps the locked value's payload (up to MAX_LOCK_PAYLOAD_BYTES) and its proof of lock (the
quorum of prevotes that justified it, from any signers) so that a restarted node can
re-propose it and re-gossip its justification, as if it had never crashed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bedrock.atomic import write_bytes_atomic
from bedrock.canonical import EncodingError, canonical, decode
from bedrock.errors import CodedError
from ledger_core.crypto.keys import KeyPair

from .messages import STEP_ORDER, Body, MessageError, Signed, from_wire, sign

MAX_LOCK_PAYLOAD_BYTES = 1024 * 1024
MAX_STATE_BYTES = MAX_LOCK_PAYLOAD_BYTES + 256 * 1024
MAX_KEPT_MESSAGES = 128
STATE_VERSION = 1


class SignerStateError(CodedError):
    """The signer state file is unreadable, corrupt or belongs to another key or chain."""

    code = "signer_state"


class DoubleSignRefused(CodedError):
    """Signing was refused. `previous` is the message already signed at the same
    height/round/step (the caller may re-broadcast it), or None for a regression."""

    code = "double_sign"

    def __init__(self, message: str, previous: Signed | None) -> None:
        super().__init__(message)
        self.previous = previous


@dataclass(frozen=True, slots=True)
class Lock:
    """Tendermint's lockedRound/lockedValue (-1/None: not locked). `payload` is the locked
    value's payload where known (None after a restart that could not keep it)."""

    round: int = -1
    block_id: str | None = None
    payload: Any = None
    pol: tuple[Signed, ...] = ()


class SignerStore(Protocol):
    def load(self) -> bytes | None: ...

    def save(self, data: bytes) -> None: ...


class FileStore:
    """The state in one file, replaced atomically and fsynced (file, then directory)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> bytes | None:
        try:
            if self.path.stat().st_size > MAX_STATE_BYTES:
                raise SignerStateError(f"signer state {self.path} is too large")
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SignerStateError(
                f"cannot read signer state {self.path}: {exc.strerror}"
            ) from None

    def save(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(self.path, data, 0o600)


class MemoryStore:
    """A store that outlives the signer object (the simulator's disk of a crashed node)."""

    def __init__(self) -> None:
        self.data: bytes | None = None
        self.writes = 0

    def load(self) -> bytes | None:
        return self.data

    def save(self, data: bytes) -> None:
        self.data = bytes(data)
        self.writes += 1


class GuardedSigner:
    """Signs consensus messages for one key, never twice differently for one height/round/step."""

    def __init__(self, key: KeyPair, chain_id: str, store: SignerStore) -> None:
        self._key = key
        self.key_id = key.key_id
        self.chain_id = chain_id
        self._store = store
        self.height = 0
        self.round = -1
        self.step = 0
        self.signed: list[Signed] = []
        self.lock = Lock()
        raw = store.load()
        if raw is not None:
            self._load(raw)

    @classmethod
    def open(cls, path: Path, key: KeyPair, chain_id: str) -> GuardedSigner:
        return cls(key, chain_id, FileStore(path))

    def _load(self, raw: bytes) -> None:
        try:
            d = decode(raw, max_bytes=MAX_STATE_BYTES)
            if type(d) is not dict or d.get("version") != STATE_VERSION:
                raise SignerStateError("signer state has an unknown version")
            if d["chain_id"] != self.chain_id or d["key_id"] != self.key_id:
                raise SignerStateError("signer state belongs to another chain or key")
            h, r, s = d["height"], d["round"], d["step"]
            if not all(type(x) is int for x in (h, r, s)):
                raise SignerStateError("signer state has a non-integer position")
            lock = d["lock"]
            if type(lock) is not dict or type(lock.get("round")) is not int:
                raise SignerStateError("signer state has a malformed lock")
            signed = [from_wire(w, self.chain_id) for w in d["signed"]]
            if any(m.validator != self.key_id or m.height != h for m in signed):
                raise SignerStateError("signer state holds a message of another key or height")
            pol = tuple(from_wire(w, self.chain_id) for w in lock["pol"])
        except (EncodingError, MessageError, KeyError, TypeError, AttributeError) as exc:
            raise SignerStateError(f"signer state is corrupt: {exc}") from None
        self.height, self.round, self.step = h, r, s
        self.signed = signed
        self.lock = Lock(lock["round"], lock["block_id"], lock["payload"], pol)

    def _state(self, lock: Lock) -> dict[str, Any]:
        signed = [m.without_payload().to_wire() for m in self.signed]
        payload = lock.payload
        if payload is not None and len(canonical(payload)) > MAX_LOCK_PAYLOAD_BYTES:
            payload = None  # too large to rewrite at every vote; only re-proposing it is lost
        return {
            "version": STATE_VERSION,
            "chain_id": self.chain_id,
            "key_id": self.key_id,
            "height": self.height,
            "round": self.round,
            "step": self.step,
            "signed": signed,
            "lock": {
                "round": lock.round,
                "block_id": lock.block_id,
                "payload": payload,
                "pol": [m.to_wire() for m in lock.pol],
            },
        }

    def _latest(self, step: str) -> Signed | None:
        for m in reversed(self.signed):
            if m.type == step:
                return m
        return None

    @property
    def last(self) -> Signed | None:
        """The message signed at the last height/round/step."""
        for m in self.signed:
            if (m.height, m.round, STEP_ORDER[m.type]) == (self.height, self.round, self.step):
                return m
        return None

    def signed_at(self, height: int) -> list[Signed]:
        """What this key signed at `height` and still remembers."""
        return [m for m in self.signed if m.height == height]

    def resume(self, height: int) -> tuple[int, Lock] | None:
        """Where to resume at `height` after a restart: (round, lock), or None if nothing was signed there."""
        if self.height != height:
            return None
        return max(self.round, 0), (self.lock if self.lock.round >= 0 else Lock())

    def sign(self, body: Body, lock: Lock, payload: Any = None) -> Signed:
        """Persist, then return the signed message; raise DoubleSignRefused instead of equivocating.

        DoubleSignRefused.previous is what was signed before at the same height, round and
        step (to re-send instead), or None.
        """
        pos = (body.height, body.round, STEP_ORDER[body.type])
        last_pos = (self.height, self.round, self.step)
        prev_msg = self._latest(body.type)
        if prev_msg is not None and (prev_msg.height, prev_msg.round) != (body.height, body.round):
            prev_msg = None
        if pos < last_pos:
            raise DoubleSignRefused(
                f"refusing to sign {body.type} at {pos}: already signed at {last_pos}", prev_msg
            )
        if pos == last_pos and prev_msg is not None:
            if prev_msg.body == body:
                return Signed(self.chain_id, body, self.key_id, prev_msg.signature, payload)
            raise DoubleSignRefused(f"refusing a second, different {body.type} at {pos}", prev_msg)
        signed = sign(self.chain_id, body, self.key_id, self._key.sign, payload)
        prev = (self.height, self.round, self.step, self.signed, self.lock)
        self.height, self.round, self.step = pos
        self.signed = self._kept(signed)
        self.lock = lock
        try:
            self._store.save(canonical(self._state(self.lock)))
        except BaseException:
            self.height, self.round, self.step, self.signed, self.lock = prev
            raise
        return signed

    def _kept(self, new: Signed) -> list[Signed]:
        """Messages to remember after signing `new`: all of its height, at most
        MAX_KEPT_MESSAGES, dropping the oldest nil votes first (they justify nothing later)."""
        msgs = [m for m in self.signed if m.height == new.height] + [new]
        latest = {m.type: id(m) for m in msgs}
        while len(msgs) > MAX_KEPT_MESSAGES:
            drop = next(
                (m for m in msgs if m.block_id is None and id(m) not in latest.values()),
                next(m for m in msgs if id(m) not in latest.values()),
            )
            msgs.remove(drop)
        return msgs
