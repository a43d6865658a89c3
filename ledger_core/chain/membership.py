"""Membership rules of the chain: organisations, participants, validators and parameters.

The effects of member.propose/approve (a quorum of validators, enacted two heights later),
participant.register/revoke and key.rotate, and `CHAIN_RULES`, the rule set of a chain that
knows only membership.
"""

from __future__ import annotations

from typing import Any

from ledger_core.chain.block import quorum
from ledger_core.chain.genesis import PARAMS
from ledger_core.chain.state_view import Rules, TxContext, View
from ledger_core.chain.tx import TxError, rotation_proof_body
from ledger_core.crypto.domains import DOMAIN_TX, signing_bytes
from ledger_core.crypto.keys import key_id
from ledger_core.crypto.signing import verify

ACTIVATION_DELAY = 2  # a completed quorum takes effect two heights later (docs/design.md section 3)
MEMBERSHIP_TABLES = ("org", "participant", "nonce", "validator", "proposal", "pending", "param")


def participant_record(p: dict[str, Any], org: str, height: int) -> dict[str, Any]:
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


def enact(view: View, action: dict[str, Any], height: int) -> None:
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
            view.put("participant", p["key_id"], participant_record(p, org["id"], height))
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
    ctx.view.put("participant", p["key_id"], participant_record(p, org["id"], ctx.height))


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


CHAIN_RULES = Rules(
    MEMBERSHIP_TABLES,
    {
        "member.propose": _member_propose,
        "member.approve": _member_approve,
        "participant.register": _register,
        "participant.revoke": _revoke,
        "key.rotate": _rotate,
    },
)
