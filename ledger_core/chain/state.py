"""The deterministic ledger state machine: apply a block's transactions to the state tables.

State = named tables of canonical-JSON records, as the `Rules` it is built with declare
(membership.py: org, participant, nonce, validator, proposal, pending, param; the attestation
layer adds cert, rating, batch, report). Executing a block never mutates the committed state: it
works on a copy-on-write `View` and returns the writes; `LedgerState.apply` merges them after the
store has committed them in the same database transaction as the block.

app_hash(h) = H({"height": h, "prev": app_hash(h-1), "writes": Merkle root of the sorted
[table, key, record] writes of block h, "count": n}), with app_hash(0) chained from the chain id.
It commits to the whole state because the state is a pure function of the writes since genesis.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bedrock.canonical import canonical, digest_hex
from ledger_core.chain.genesis import PARAMS, Genesis
from ledger_core.chain.membership import enact, participant_record
from ledger_core.chain.state_view import Rules, TxContext, View, Writes
from ledger_core.chain.tx import Tx, TxError, check_signature
from ledger_core.crypto import merkle
from ledger_core.crypto.signing import VerifiedCache

Encoded = dict[tuple[str, str], bytes | None]  # the canonical bytes of each written record


@dataclass
class BlockResult:
    height: int
    time: int
    accepted: list[Tx]
    rejected: list[tuple[Tx, TxError]]
    writes: Writes
    app_hash: str
    validators_hash: str  # the set that signs this height
    encoded: Encoded  # `encode_writes(writes)`, kept for the store


def encode_writes(writes: Writes) -> Encoded:
    """Each written record's canonical bytes (None for a deletion), encoded once for both the
    app_hash and the store."""
    return {key: None if rec is None else canonical(rec) for key, rec in writes.items()}


def app_hash_of(prev: str, height: int, writes: Writes, encoded: Encoded | None = None) -> str:
    """Leaves are canonical([table, key, record]), put together from the records' bytes."""
    enc = encode_writes(writes) if encoded is None else encoded
    leaves = [
        canonical([t, k])[:-1] + b"," + (b"null" if e is None else e) + b"]"
        for (t, k), e in sorted(enc.items())
    ]
    return digest_hex(
        {"height": height, "prev": prev, "writes": merkle.root(leaves).hex(), "count": len(leaves)}
    )


def validators_hash_of(validators: dict[str, bytes]) -> str:
    return digest_hex(sorted([k, v.hex()] for k, v in validators.items()))


@dataclass
class LedgerState:
    chain_id: str
    rules: Rules
    tables: dict[str, dict[str, Any]]
    height: int = 0
    app_hash: str = ""
    last_block_id: str = "0" * 64
    last_time: int = 0
    _validators: dict[str, bytes] | None = field(default=None, repr=False)

    @classmethod
    def from_genesis(cls, g: Genesis, rules: Rules) -> tuple[LedgerState, Writes]:
        """The state at height 0 and the writes that create it."""
        view = View({t: {} for t in rules.tables})
        for o in g.body["organisations"]:
            view.put(
                "org", o["id"], {**o, "roles": sorted(o["roles"]), "status": "active", "since": 0}
            )
        for p in g.body["participants"]:
            view.put("participant", p["key_id"], participant_record(p, p["org"], 0))
        for v in g.body["validators"]:
            view.put("validator", v, {"public_key": g.participant(v)["public_key"], "since": 0})
        for name, value in g.params.items():
            view.put("param", name, {"value": value})
        st = cls(g.chain_id, rules, {t: {} for t in rules.tables}, 0, "", "0" * 64, g.body["genesis_time"])
        st._merge(view.writes)
        st.app_hash = app_hash_of(g.chain_id, 0, view.writes)
        return st, view.writes

    def _merge(self, writes: Writes) -> None:
        for (t, k), rec in writes.items():
            if rec is None:
                self.tables[t].pop(k, None)
            else:
                self.tables[t][k] = rec
        if any(t == "validator" for t, _k in writes):
            self._validators = None

    def validators(self) -> dict[str, bytes]:
        """The validator set that signs the next height: key id -> raw public key."""
        if self._validators is None:
            self._validators = {
                k: bytes.fromhex(r["public_key"])
                for k, r in sorted(self.tables["validator"].items())
            }
        return self._validators

    def validators_hash(self) -> str:
        return validators_hash_of(self.validators())

    def param(self, name: str) -> int:
        rec = self.tables["param"].get(name)
        return rec["value"] if rec else PARAMS[name][0]

    def nonce(self, sender: str) -> int:
        rec = self.tables["nonce"].get(sender)
        return rec["nonce"] if rec else 0

    # -- checking and executing ----------------------------------------------------------

    def admit(self, tx: Tx, pending_nonce: int | None, cache: VerifiedCache | None) -> None:
        """Every stateful check against the committed state (the mempool's pending nonce wins)."""
        view = View(View(self.tables))
        if pending_nonce is not None:
            view.parent.put("nonce", tx.sender, {"nonce": pending_nonce})
        self._apply_tx(view, tx, self.height + 1, cache, self.last_time)

    def execute(
        self,
        txs: Iterable[Tx],
        height: int,
        time_ms: int,
        cache: VerifiedCache | None = None,
        drop_invalid: bool = True,
    ) -> BlockResult:
        """Apply txs for block `height` on a view; invalid ones are dropped (or raise, when
        replaying a committed block with drop_invalid=False)."""
        vhash = self.validators_hash()
        view = View(self.tables)
        accepted: list[Tx] = []
        rejected: list[tuple[Tx, TxError]] = []
        for tx in txs:
            child = View(view)
            try:
                self._apply_tx(child, tx, height, cache, time_ms)
            except TxError as exc:
                if not drop_invalid:
                    raise
                rejected.append((tx, exc))
                continue
            child.merge_into_parent()
            accepted.append(tx)
        self._end_block(view, height)
        encoded = encode_writes(view.writes)
        return BlockResult(
            height,
            time_ms,
            accepted,
            rejected,
            view.writes,
            app_hash_of(self.app_hash, height, view.writes, encoded),
            vhash,
            encoded,
        )

    def apply(self, result: BlockResult, block_id: str) -> None:
        """Merge a committed block's writes (call only after the store committed them)."""
        self._merge(result.writes)
        self.height = result.height
        self.app_hash = result.app_hash
        self.last_block_id = block_id
        self.last_time = result.time

    def _apply_tx(
        self, view: View, tx: Tx, height: int, cache: VerifiedCache | None, time_ms: int = 0
    ) -> None:
        max_bytes = view.get("param", "max_tx_bytes")["value"]  # genesis writes every parameter
        if len(tx.raw) > max_bytes:
            raise TxError(
                "too_large", f"transaction has {len(tx.raw)} bytes, the limit is {max_bytes}"
            )
        if tx.chain_id != self.chain_id:
            raise TxError(
                "wrong_chain", f"transaction is for chain {tx.chain_id[:16]}, not this one"
            )
        sender = view.get("participant", tx.sender)
        if sender is None:
            raise TxError(
                "unknown_sender", f"sender {tx.sender[:16]} is not a registered participant"
            )
        if sender["status"] != "active":
            raise TxError("revoked_sender", f"sender {tx.sender[:16]} is {sender['status']}")
        rec = view.get("nonce", tx.sender)
        last = rec["nonce"] if rec else 0
        if tx.nonce <= last:
            raise TxError(
                "bad_nonce",
                f"nonce {tx.nonce} is not above the sender's last nonce {last} (replayed or out of order)",
            )
        org = view.get("org", sender["org"])
        if org is None or org["status"] != "active":
            raise TxError(
                "revoked_sender", f"the sender's organisation {sender['org']!r} is not active"
            )
        ttype = tx.tx_type
        if ttype.validator and view.get("validator", tx.sender) is None:
            raise TxError("role_not_allowed", f"{tx.type} needs a current validator as sender")
        if ttype.kinds and sender["kind"] not in ttype.kinds:
            raise TxError(
                "role_not_allowed", f"{tx.type} needs a sender of kind {'/'.join(ttype.kinds)}"
            )
        if ttype.roles and not set(ttype.roles) & set(sender["roles"]):
            raise TxError(
                "role_not_allowed", f"{tx.type} needs one of the roles {', '.join(ttype.roles)}"
            )
        check_signature(tx, bytes.fromhex(sender["public_key"]), cache)
        effect = self.rules.effects.get(tx.type)
        if effect is not None:
            effect(TxContext(view, tx, sender, height, self.chain_id, time_ms))
        view.put("nonce", tx.sender, {"nonce": tx.nonce})

    def _end_block(self, view: View, height: int) -> None:
        """Apply accepted proposals due at the next height, in a fixed order."""
        due = sorted(
            (rec["effective_height"], pid)
            for pid in view.keys("pending")
            if (rec := view.get("pending", pid))["effective_height"] <= height + 1
        )
        for _eff, pid in due:
            view.delete("pending", pid)
            prop = view.get("proposal", pid)
            try:
                child = View(view)
                enact(child, prop["action"], height)
                child.merge_into_parent()
                view.put("proposal", pid, {**prop, "status": "applied", "applied_height": height})
            except TxError as exc:
                view.put("proposal", pid, {**prop, "status": "failed", "reason": str(exc)})
