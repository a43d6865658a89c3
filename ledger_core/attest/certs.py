"""Certificate rules (docs/design.md section 5): kind-specific predicates, lineage, validity.

Pure checks over a state getter `get(table, key)`; the state effects in `effects.py` call them.
A certificate's id is the hash of the `cert.issue` transaction that recorded it (the issuer's
signature covers the whole certificate). State table `cert` keeps, per id: the certificate, its
issuer and organisation, the height, and its status: `active`, `suspended` (a reversible hold
filed by another organisation's auditor) or `revoked` with who, when, why. Only `active` is
usable; revocation, suspension and their quorum are in `revocation.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bedrock.canonical import digest_hex
from ledger_core.chain import json_shape as s
from ledger_core.chain.tx import CERT_KIND_ROLE, TxError

Get = Callable[[str, str], Any]


@dataclass(frozen=True)
class LineageRule:
    """How many lineage certificates of each kind a kind needs (min) and admits (max)."""

    counts: dict[str, tuple[int, int]]


LINEAGE: dict[str, LineageRule] = {
    "infrastructure": LineageRule({}),
    "data_collection": LineageRule({"infrastructure": (0, 8)}),
    "dataset": LineageRule({"data_collection": (0, 8)}),
    "labels": LineageRule({"dataset": (1, 1)}),
    "pipeline": LineageRule({"infrastructure": (0, 8)}),
    # the model's birth certificate: where it came from, and its parent when retrained
    "model": LineageRule({"dataset": (1, 8), "labels": (1, 8), "pipeline": (1, 1), "model": (0, 1)}),
}


def _scalar(v: Any, path: str) -> None:
    if type(v) is int:
        s.Int(-(2**62), 2**62)(v, path)
    else:
        s.Str(200)(v, path)


_PIPELINE = s.Obj({"config": s.Bounded(8 * 1024), "config_digest": s.Hex64})


def _pipeline(v: Any, path: str) -> None:
    _PIPELINE(v, path)
    if digest_hex(v["config"]) != v["config_digest"]:
        s.fail(f"{path}.config_digest", "is not the digest of config")


_CLASSES = s.List(s.Str(64), 1000, 1, unique=True)
PREDICATES: dict[str, s.Checker] = {
    "model": s.Obj(
        {
            "architecture": s.Str(200),
            "classes": _CLASSES,
            "training": s.Map(s.Slug, _scalar, 64),
            "metrics": s.Map(s.Slug, s.Int(0, 1_000_000), 64),  # parts per million
            "eval_set": s.Str(200),
            "preprocessing_digest": s.Optional(s.Hex64),
            "parameters": s.Optional(s.Int(0, 10**12)),
        }
    ),
    "dataset": s.Obj(
        {
            "counts": s.Map(s.Str(64), s.Int(0, 10**9), 1000),
            "source_device": s.Name,
            "files": s.Optional(s.Int(0, 10**9)),
            "description": s.Optional(s.Str(500)),
        }
    ),
    "labels": s.Obj(
        {
            "classes": _CLASSES,
            "count": s.Int(0, 10**9),
            "method": s.Str(200),
        }
    ),
    "pipeline": _pipeline,
    "data_collection": s.Obj(
        {"devices": s.List(s.Name, 64, 1), "description": s.Optional(s.Str(500))}
    ),
    "infrastructure": s.Obj(
        {
            "component": s.Name,
            "config_digest": s.Optional(s.Hex64),
            "description": s.Optional(s.Str(500)),
        }
    ),
}


def check_predicate(kind: str, predicate: Any) -> None:
    try:
        PREDICATES[kind](predicate, "predicate")
    except s.SchemaError as exc:
        raise TxError("bad_predicate", f"{kind} certificate: {exc}") from None
    if kind == "dataset" and not predicate["counts"]:
        raise TxError("bad_predicate", "dataset certificate: counts per class must not be empty")


def in_validity(cert: dict[str, Any], time_ms: int) -> bool:
    until = cert["valid_until"]
    return cert["valid_from"] <= time_ms and (until is None or time_ms <= until)


def check_lineage(get: Get, cert: dict[str, Any], time_ms: int) -> list[dict[str, Any]]:
    """Every lineage entry exists, is active, valid at time_ms (the block's time), of an admitted kind and in the
    admitted numbers; kind-specific cross-checks. Returns the lineage records."""
    rule = LINEAGE[cert["kind"]]
    records, counts = [], dict.fromkeys(rule.counts, 0)
    for cid in cert["lineage"]:
        rec = get("cert", cid)
        if rec is None:
            raise TxError("unknown_cert", f"lineage certificate {cid[:16]} does not exist")
        if rec["status"] != "active":  # lineage_revoked or lineage_suspended
            code = "lineage_suspended" if rec["status"] == "suspended" else "lineage_revoked"
            raise TxError(code, f"lineage certificate {cid[:16]} is {rec['status']}")
        k = rec["cert"]["kind"]
        if k not in counts:
            raise TxError("lineage_kind", f"a {cert['kind']} certificate cannot derive from a {k} certificate")
        if not in_validity(rec["cert"], time_ms):
            raise TxError("lineage_expired", f"lineage certificate {cid[:16]} is not within its validity")
        counts[k] += 1
        records.append(rec)
    for k, (lo, hi) in rule.counts.items():
        if not lo <= counts[k] <= hi:
            raise TxError(
                "lineage_kind",
                f"a {cert['kind']} certificate needs {lo}..{hi} {k} certificates in its lineage, has {counts[k]}",
            )
    if cert["kind"] == "model":
        _check_model_lineage(cert, records)
    if cert["kind"] == "labels":
        ds = records[0]["cert"]["predicate"]["counts"]
        if not set(cert["predicate"]["classes"]) >= set(ds):
            raise TxError("bad_predicate", "labels certificate: the dataset has classes the labels lack")
    return records


def _check_model_lineage(cert: dict[str, Any], records: list[dict[str, Any]]) -> None:
    pred = cert["predicate"]
    for rec in records:
        c = rec["cert"]
        if c["kind"] == "labels" and c["predicate"]["classes"] != pred["classes"]:
            raise TxError("bad_predicate", "model certificate: its classes differ from the labels certificate's")
        if c["kind"] == "labels" and c["lineage"][0] not in cert["lineage"]:
            raise TxError("lineage_kind", "model certificate: a labels certificate's dataset is not in the lineage")
        if (
            c["kind"] == "pipeline"
            and pred.get("preprocessing_digest") is not None
            and pred["preprocessing_digest"] != c["predicate"]["config_digest"]
        ):
            raise TxError("bad_predicate", "model certificate: preprocessing digest differs from the pipeline's")


def issue(get: Get, cert_id: str, cert: dict[str, Any], sender: dict[str, Any], height: int, time_ms: int) -> dict[str, Any]:
    """Check a cert.issue and return the `cert` state record (TxError with a reason otherwise)."""
    kind = cert["kind"]
    if CERT_KIND_ROLE[kind] not in sender["roles"]:
        raise TxError("role_not_allowed", f"a {kind} certificate needs the {CERT_KIND_ROLE[kind]} role")
    if get("cert", cert_id) is not None:
        raise TxError("duplicate", f"certificate {cert_id[:16]} exists")
    check_predicate(kind, cert["predicate"])
    check_lineage(get, cert, time_ms)
    return {
        "id": cert_id,
        "cert": cert,
        "issuer": sender["key_id"],
        "issuer_org": sender["org"],
        "height": height,
        "status": "active",
    }


def lineage_closure(get: Get, cert_id: str) -> list[str]:
    """The certificate and all its ancestors, each once, depth-first in lineage order."""
    seen: list[str] = []
    stack = [cert_id]
    while stack:
        cid = stack.pop()
        if cid in seen:
            continue
        seen.append(cid)
        rec = get("cert", cid)
        if rec is not None:
            stack.extend(reversed(rec["cert"]["lineage"]))
    return seen
