"""The genesis file: founding organisations, participants with keys and roles, validators and
trust parameters. The chain id is the hex SHA-256 of the canonical genesis body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrock.canonical import EncodingError, canonical, check_value, digest_hex
from bedrock.errors import CodedError
from ledger_core.chain import json_shape as s
from ledger_core.crypto.keys import key_id

GENESIS_VERSION = 1
MAX_GENESIS_BYTES = 4 * 1024 * 1024

# name -> (default, lowest, highest). Fractions are per-mille integers.
PARAMS: dict[str, tuple[int, int, int]] = {
    "trust_threshold_permille": (600, 0, 1000),
    "trust_half_life_blocks": (100_000, 1, 10**12),
    "org_weight_cap_permille": (400, 1, 1000),
    "trust_base_rate_permille": (500, 0, 1000),
    "max_tx_bytes": (64 * 1024, 1024, 1024 * 1024),
    "max_block_txs": (5_000, 1, 100_000),
}

PARTICIPANT_FIELDS = {  # a participant as genesis names it; state records add status fields
    "key_id": s.Hex64,
    "public_key": s.Hex64,
    "org": s.Slug,
    "name": s.Name,
    "kind": s.Enum(*s.KINDS),
    "roles": s.Roles(),
}
_PARTICIPANT = s.Obj(PARTICIPANT_FIELDS)
_ORG = s.Obj({"id": s.Slug, "name": s.Name, "roles": s.Roles()})
_BODY = s.Obj(
    {
        "version": s.Int(GENESIS_VERSION, GENESIS_VERSION),
        "chain_name": s.Str(64, 1, s.SLUG),
        "genesis_time": s.Int(0, 2**62),
        "organisations": s.List(_ORG, 1000, 1),
        "participants": s.List(_PARTICIPANT, 100_000, 1),
        "validators": s.List(s.Hex64, 1000, 1, unique=True),
        "params": s.Map(s.Str(64, 1, s.SLUG), s.Int(-(2**62), 2**62), len(PARAMS)),
    }
)


class GenesisError(CodedError, ValueError):
    """A genesis file or body that cannot start a chain; the message says why."""

    code = "bad_genesis"


@dataclass(frozen=True)
class Genesis:
    body: dict[str, Any]
    chain_id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "chain_id", digest_hex(self.body))

    @property
    def params(self) -> dict[str, int]:
        out = {k: d for k, (d, _lo, _hi) in PARAMS.items()}
        out.update(self.body["params"])
        return out

    @property
    def validators(self) -> list[str]:
        return list(self.body["validators"])

    def participant(self, kid: str) -> dict[str, Any] | None:
        for p in self.body["participants"]:
            if p["key_id"] == kid:
                return p
        return None

    def summary(self) -> dict[str, Any]:
        b = self.body
        return {
            "chain_id": self.chain_id,
            "chain_name": b["chain_name"],
            "genesis_time": b["genesis_time"],
            "organisations": len(b["organisations"]),
            "participants": len(b["participants"]),
            "validators": len(b["validators"]),
            "params": self.params,
        }


def validate(body: Any) -> Genesis:
    """Check a genesis body completely; GenesisError names the first problem."""
    try:
        check_value(body)
        _BODY(body, "genesis")
    except (EncodingError, s.SchemaError) as exc:
        raise GenesisError(str(exc)) from None
    orgs: dict[str, set[str]] = {}
    for o in body["organisations"]:
        if o["id"] in orgs:
            raise GenesisError(f"organisation {o['id']!r} appears twice")
        orgs[o["id"]] = set(o["roles"])
    seen: dict[str, dict[str, Any]] = {}
    for p in body["participants"]:
        kid = p["key_id"]
        if kid in seen:
            raise GenesisError(f"participant key {kid[:16]} appears twice")
        if key_id(bytes.fromhex(p["public_key"])) != kid:
            raise GenesisError(f"participant {p['name']!r}: key id is not the hash of its public key")
        if p["org"] not in orgs:
            raise GenesisError(f"participant {p['name']!r} names unknown organisation {p['org']!r}")
        extra = set(p["roles"]) - orgs[p["org"]]
        if extra:
            raise GenesisError(
                f"participant {p['name']!r} has role {sorted(extra)[0]!r} that its organisation lacks"
            )
        if "validator" in p["roles"] and p["kind"] != "node":
            raise GenesisError(f"participant {p['name']!r}: only nodes can hold the validator role")
        seen[kid] = p
    for v in body["validators"]:
        p = seen.get(v)
        if p is None or "validator" not in p["roles"]:
            raise GenesisError(f"validator {v[:16]} is not a participant node with the validator role")
    for name, value in body["params"].items():
        if name not in PARAMS:
            raise GenesisError(f"unknown parameter {name!r}")
        _d, lo, hi = PARAMS[name]
        if not lo <= value <= hi:
            raise GenesisError(f"parameter {name} must be between {lo} and {hi}")
    return Genesis(body)


def make(
    chain_name: str,
    genesis_time_ms: int,
    organisations: list[dict[str, Any]],
    participants: list[dict[str, Any]],
    validators: list[str],
    params: dict[str, int] | None = None,
) -> Genesis:
    body = {
        "version": GENESIS_VERSION,
        "chain_name": chain_name,
        "genesis_time": genesis_time_ms,
        "organisations": organisations,
        "participants": participants,
        "validators": validators,
        "params": dict(params or {}),
    }
    return validate(body)


def participant_entry(
    public_raw: bytes, org: str, name: str, kind: str, roles: list[str]
) -> dict[str, Any]:
    return {
        "key_id": key_id(public_raw),
        "public_key": public_raw.hex(),
        "org": org,
        "name": name,
        "kind": kind,
        "roles": sorted(roles),
    }


def _reject_number(text: str) -> Any:
    raise GenesisError(f"number {text[:20]} is not an integer (no floats in genesis)")


def loads(data: bytes) -> Genesis:
    if len(data) > MAX_GENESIS_BYTES:
        raise GenesisError(f"genesis is larger than {MAX_GENESIS_BYTES} bytes")
    try:
        body = json.loads(
            data.decode("utf-8"),
            parse_float=_reject_number,
            parse_constant=_reject_number,
        )
    except UnicodeDecodeError:
        raise GenesisError("genesis is not UTF-8 text") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise GenesisError(f"genesis is not valid JSON: {exc}") from None
    return validate(body)


def load(path: Path) -> Genesis:
    """Read and validate a genesis file (pretty-printed JSON is fine: the id hashes canonical form)."""
    try:
        if path.stat().st_size > MAX_GENESIS_BYTES:
            raise GenesisError(f"{path} is larger than {MAX_GENESIS_BYTES} bytes")
        data = path.read_bytes()
    except FileNotFoundError:
        raise GenesisError(f"genesis file {path} does not exist") from None
    except OSError as exc:
        raise GenesisError(f"cannot read genesis file {path}: {exc.strerror}") from None
    try:
        return loads(data)
    except GenesisError as exc:
        raise GenesisError(f"{path}: {exc}") from None


def dumps(g: Genesis) -> bytes:
    canonical(g.body)
    return (json.dumps(g.body, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
