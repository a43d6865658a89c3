"""Genesis files from the identities of data directories: the single-validator dev chain and a
consortium's founding members and validators."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from app.errors import UserError
from app.identity import IdentityStore
from app.paths import DataDir
from app.services.node_key import load_node_key
from bedrock.atomic import write_bytes_atomic
from ledger_core.chain import genesis as gen
from ledger_core.chain.json_shape import BUSINESS_ROLES, ROLES
from ledger_core.crypto.signing import Signer


def org_slug(name: str, fallback: str) -> str:
    """An organisation id from its name: lower case letters, digits, dots, dashes."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")[:64]
    return slug if slug and slug[0].isalnum() else fallback


def dev_genesis(dd: DataDir, node: Signer) -> gen.Genesis:
    """A single-validator genesis: the local identity's organisation holds every role and this
    node is the only validator."""
    ident = IdentityStore(dd).load()
    org = org_slug(ident.org, "org-" + ident.key_id[:8])
    parts = [
        gen.participant_entry(bytes.fromhex(ident.public_key), org, ident.name, "expert", list(BUSINESS_ROLES)),
        gen.participant_entry(node.public_raw, org, f"{ident.org} node", "node", ["validator"]),
    ]
    return gen.make(
        "dev-" + org[:40], time.time_ns() // 1_000_000,
        [{"id": org, "name": ident.org, "roles": sorted(ROLES)}], parts, [node.key_id],
    )


def create_genesis(
    out: Path, members: Iterable[DataDir], validators: Iterable[DataDir], chain_name: str,
    params: Mapping[str, int], force: bool = False,
) -> gen.Genesis:
    """Write a genesis file to `out`: each member's identity joins its organisation as an expert,
    each validator's node key (created if absent) validates for its identity's organisation."""
    if out.exists() and not force:
        raise UserError(f"{out} exists (use --force to overwrite)")
    orgs: dict[str, dict] = {}
    parts: list[dict] = []
    for m in members:
        ident = IdentityStore(m).load()
        oid = org_slug(ident.org, "org-" + ident.key_id[:8])
        org = orgs.setdefault(oid, {"id": oid, "name": ident.org, "roles": set()})
        org["roles"].add(ident.role)
        parts.append(gen.participant_entry(bytes.fromhex(ident.public_key), oid, ident.name, "expert", [ident.role]))
    vals = []
    for v in validators:
        ident = IdentityStore(v).load()
        oid = org_slug(ident.org, "org-" + ident.key_id[:8])
        if oid not in orgs:
            raise UserError(f"validator {v.root} belongs to {ident.org!r}, which is not a member")
        node = load_node_key(v.root, create=True)
        orgs[oid]["roles"].add("validator")
        parts.append(gen.participant_entry(node.public_raw, oid, f"{ident.org} node {len(vals) + 1}", "node", ["validator"]))
        vals.append(node.key_id)
    try:
        g = gen.make(chain_name, time.time_ns() // 1_000_000,
                     [{**o, "roles": sorted(o["roles"])} for o in orgs.values()], parts, vals, dict(params))
    except gen.GenesisError as exc:
        raise UserError(f"cannot create genesis: {exc}") from None
    write_bytes_atomic(out, gen.dumps(g), mode=0o644)
    return g
