"""The deterministic ledger state machine: apply a block's transactions to the state tables.

State = named tables of canonical-JSON records (org, participant, nonce, validator, proposal,
pending, param). Executing a block never mutates the committed state: it works on a copy-on-write
`View` and returns the writes; `LedgerState.apply` merges them after the store has committed them
in the same database transaction as the block.

app_hash(h) = H({"height": h, "prev": app_hash(h-1), "writes": Merkle root of the sorted
[table, key, record] writes of block h, "count": n}), with app_hash(0) chained from the chain id.
It commits to the whole state because the state is a pure function of the writes since genesis.

Later features add effects with `register_effect(tx_type, fn)`: fn(ctx) checks and writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ledger_core import merkle
from ledger_core.block import quorum
from ledger_core.encoding import DOMAIN_TX, canonical, digest_hex, signing_bytes
from ledger_core.genesis import PARAMS, Genesis
from ledger_core.keys import key_id
from ledger_core.signing import VerifiedCache, verify
from ledger_core.tx import Tx, TxError, check_signature, rotation_proof_body

TABLES = (
    "org", "participant", "nonce", "validator", "proposal", "pending", "param",
    "cert", "rating", "batch", "report",  # effects.py
)
ACTIVATION_DELAY = 2  # a completed quorum takes effect two heights later (DESIGN.md section 3)

Writes = dict[tuple[str, str], Any]
Encoded = dict[tuple[str, str], bytes | None]  # the canonical bytes of each written record


class View:
    """Copy-on-write reads and writes over a parent view or the committed tables."""

    __slots__ = ("parent", "base", "writes")

    def __init__(self, parent: View | dict[str, dict[str, Any]]) -> None:
        self.parent = parent if isinstance(parent, View) else None
        self.base = parent if isinstance(parent, dict) else None
        self.writes: Writes = {}

    def get(self, table: str, key: str) -> Any:
        k = (table, key)
        if k in self.writes:
            return self.writes[k]
        if self.parent is not None:
            return self.parent.get(table, key)
        return self.base[table].get(key)

    def put(self, table: str, key: str, record: Any) -> None:
        self.writes[(table, key)] = record

    def delete(self, table: str, key: str) -> None:
        self.writes[(table, key)] = None

    def keys(self, table: str) -> set[str]:
        out = self.parent.keys(table) if self.parent is not None else set(self.base[table])
        for (t, k), rec in self.writes.items():
            if t == table:
                (out.add if rec is not None else out.discard)(k)
        return out

    def merge_into_parent(self) -> None:
        assert self.parent is not None
        self.parent.writes.update(self.writes)


@dataclass
class TxContext:
    """What an effect handler sees: the view, the transaction, its sender's record, the height."""

    view: View
    tx: Tx
    sender: dict[str, Any]
    height: int
    chain_id: str
    time_ms: int = 0  # the block's time (the head's time when admitting to the mempool)


Effect = Callable[[TxContext], None]
_EFFECTS: dict[str, Effect] = {}


def register_effect(tx_type: str, fn: Effect) -> None:
    """Attach the state effect of a transaction type (checks raise TxError before any write)."""
    _EFFECTS[tx_type] = fn


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
    tables: dict[str, dict[str, Any]]
    height: int = 0
    app_hash: str = ""
    last_block_id: str = "0" * 64
    last_time: int = 0
    _validators: dict[str, bytes] | None = field(default=None, repr=False)

    @classmethod
    def from_genesis(cls, g: Genesis) -> tuple[LedgerState, Writes]:
        """The state at height 0 and the writes that create it."""
        view = View({t: {} for t in TABLES})
        for o in g.body["organisations"]:
            view.put(
                "org", o["id"], {**o, "roles": sorted(o["roles"]), "status": "active", "since": 0}
            )
        for p in g.body["participants"]:
            view.put("participant", p["key_id"], _participant_record(p, p["org"], 0))
        for v in g.body["validators"]:
            view.put("validator", v, {"public_key": g.participant(v)["public_key"], "since": 0})
        for name, value in g.params.items():
            view.put("param", name, {"value": value})
        st = cls(g.chain_id, {t: {} for t in TABLES}, 0, "", "0" * 64, g.body["genesis_time"])
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
        effect = _EFFECTS.get(tx.type)
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
                _enact(child, prop["action"], height)
                child.merge_into_parent()
                view.put("proposal", pid, {**prop, "status": "applied", "applied_height": height})
            except TxError as exc:
                view.put("proposal", pid, {**prop, "status": "failed", "reason": str(exc)})


def _participant_record(p: dict[str, Any], org: str, height: int) -> dict[str, Any]:
    return {
        "key_id": p["key_id"],
        "public_key": p["public_key"],
        "org": org,
        "name": p["name"],
        "kind": p["kind"],
        "roles": sorted(p["roles"]),
        "status": "active",
        "since": height,
    }


# -- effects of the membership and participant types --------------------------------------


def _key_unused(view: View, kid: str) -> None:
    if view.get("participant", kid) is not None:
        raise TxError("key_exists", f"key {kid[:16]} is already registered")


def _check_action(view: View, action: dict[str, Any]) -> None:
    a = action["action"]
    if a == "add_org":
        org = action["org"]
        if view.get("org", org["id"]) is not None:
            raise TxError("org_exists", f"organisation {org['id']!r} already exists")
        seen = set()
        for p in action["participants"]:
            _key_unused(view, p["key_id"])
            if p["key_id"] in seen:
                raise TxError("bad_payload", f"key {p['key_id'][:16]} appears twice")
            seen.add(p["key_id"])
            if not set(p["roles"]) <= set(org["roles"]) or "validator" in p["roles"]:
                raise TxError(
                    "role_not_allowed",
                    f"participant {p['name']!r}: roles exceed the organisation's",
                )
    elif a == "add_validator":
        p = view.get("participant", action["key_id"])
        if p is None or p["status"] != "active" or p["kind"] != "node":
            raise TxError(
                "unknown_participant", "a new validator must be an active registered node"
            )
        org = view.get("org", p["org"])
        if "validator" not in org["roles"]:
            raise TxError(
                "role_not_allowed", f"organisation {p['org']!r} does not hold the validator role"
            )
        if view.get("validator", action["key_id"]) is not None:
            raise TxError("already_validator", "that node is already a validator")
    elif a == "remove_validator":
        if view.get("validator", action["key_id"]) is None:
            raise TxError("not_validator", "that key is not a validator")
        if len(view.keys("validator")) <= 1:
            raise TxError("last_validator", "the last validator cannot be removed")
    elif a == "set_param":
        bounds = PARAMS.get(action["name"])
        if bounds is None:
            raise TxError("bad_payload", f"unknown parameter {action['name']!r}")
        if not bounds[1] <= action["value"] <= bounds[2]:
            raise TxError(
                "bad_payload", f"{action['name']} must be between {bounds[1]} and {bounds[2]}"
            )


def _enact(view: View, action: dict[str, Any], height: int) -> None:
    _check_action(view, action)
    a = action["action"]
    if a == "add_org":
        org = action["org"]
        view.put(
            "org",
            org["id"],
            {**org, "roles": sorted(org["roles"]), "status": "active", "since": height},
        )
        for p in action["participants"]:
            view.put("participant", p["key_id"], _participant_record(p, org["id"], height))
    elif a == "add_validator":
        p = view.get("participant", action["key_id"])
        view.put("validator", p["key_id"], {"public_key": p["public_key"], "since": height + 1})
        view.put(
            "participant", p["key_id"], {**p, "roles": sorted(set(p["roles"]) | {"validator"})}
        )
    elif a == "remove_validator":
        view.delete("validator", action["key_id"])
        p = view.get("participant", action["key_id"])
        view.put(
            "participant", p["key_id"], {**p, "roles": sorted(set(p["roles"]) - {"validator"})}
        )
    elif a == "set_param":
        view.put("param", action["name"], {"value": action["value"]})


def _count_approval(ctx: TxContext, pid: str, prop: dict[str, Any]) -> None:
    validators = ctx.view.keys("validator")
    approvals = sorted(set(prop["approvals"]) | {ctx.tx.sender})
    prop = {**prop, "approvals": approvals}
    if len(set(approvals) & validators) >= quorum(len(validators)):
        eff = ctx.height + ACTIVATION_DELAY
        prop.update(status="accepted", accepted_height=ctx.height, effective_height=eff)
        ctx.view.put("pending", pid, {"effective_height": eff})
    ctx.view.put("proposal", pid, prop)


def _member_propose(ctx: TxContext) -> None:
    _check_action(ctx.view, ctx.tx.payload)
    prop = {
        "id": ctx.tx.hash,
        "proposer": ctx.tx.sender,
        "height": ctx.height,
        "action": ctx.tx.payload,
        "approvals": [],
        "status": "open",
    }
    _count_approval(ctx, ctx.tx.hash, prop)


def _member_approve(ctx: TxContext) -> None:
    pid = ctx.tx.payload["proposal"]
    prop = ctx.view.get("proposal", pid)
    if prop is None:
        raise TxError("unknown_proposal", f"no proposal {pid[:16]}")
    if prop["status"] != "open":
        raise TxError("proposal_closed", f"proposal {pid[:16]} is {prop['status']}")
    if ctx.tx.sender in prop["approvals"]:
        raise TxError("already_approved", "this validator already approved the proposal")
    _count_approval(ctx, pid, prop)


def _register(ctx: TxContext) -> None:
    p = ctx.tx.payload["participant"]
    _key_unused(ctx.view, p["key_id"])
    org = ctx.view.get("org", ctx.sender["org"])
    if "validator" in p["roles"]:
        raise TxError(
            "role_not_allowed", "the validator role is granted only by a quorum (member.propose)"
        )
    if not set(p["roles"]) <= set(org["roles"]):
        raise TxError("role_not_allowed", "the new participant's roles exceed its organisation's")
    ctx.view.put("participant", p["key_id"], _participant_record(p, org["id"], ctx.height))


def _revoke(ctx: TxContext) -> None:
    kid = ctx.tx.payload["key_id"]
    p = ctx.view.get("participant", kid)
    if p is None:
        raise TxError("unknown_participant", f"no participant {kid[:16]}")
    if p["org"] != ctx.sender["org"]:
        raise TxError("not_same_org", "an organisation revokes only its own participants")
    if p["status"] != "active":
        raise TxError("already_revoked", f"participant {kid[:16]} is already {p['status']}")
    if ctx.view.get("validator", kid) is not None:
        raise TxError(
            "validator_change_needs_quorum", "remove a validator with member.propose first"
        )
    ctx.view.put(
        "participant",
        kid,
        {
            **p,
            "status": "revoked",
            "revoked_height": ctx.height,
            "reason": ctx.tx.payload["reason"],
        },
    )


def _rotate(ctx: TxContext) -> None:
    pub = bytes.fromhex(ctx.tx.payload["public_key"])
    new_id = key_id(pub)
    _key_unused(ctx.view, new_id)
    if ctx.view.get("validator", ctx.tx.sender) is not None:
        raise TxError(
            "validator_change_needs_quorum", "a validator key changes through member.propose"
        )
    msg = signing_bytes(DOMAIN_TX, ctx.chain_id, rotation_proof_body(ctx.tx.sender, new_id))
    if not verify(pub, bytes.fromhex(ctx.tx.payload["proof"]), msg):
        raise TxError("bad_key_proof", "the new key did not sign the rotation")
    old = ctx.sender
    ctx.view.put(
        "participant",
        old["key_id"],
        {**old, "status": "rotated", "revoked_height": ctx.height, "replaced_by": new_id},
    )
    ctx.view.put(
        "participant",
        new_id,
        {
            **old,
            "key_id": new_id,
            "public_key": pub.hex(),
            "status": "active",
            "since": ctx.height,
            "replaces": old["key_id"],
        },
    )


for _t, _fn in (
    ("member.propose", _member_propose),
    ("member.approve", _member_approve),
    ("participant.register", _register),
    ("participant.revoke", _revoke),
    ("key.rotate", _rotate),
):
    register_effect(_t, _fn)

# certificates (with their role rules), ratings, anchoring and monitoring: effects.py
from ledger_core.effects import EFFECTS  # noqa: E402

for _t, _fn in EFFECTS:
    register_effect(_t, _fn)
