"""What the Network perspective shows, computed from the node's `status` answer (no Qt).

A validator counts as online when it is this node, a connected peer, or has voted within
`recent_ms`; when fewer than the quorum are online the chain cannot commit and a banner
says so ("2 of 4 validators online, 3 needed"). Double signing seen by the node (verified
evidence) is a banner too, naming the validators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PeerRow:
    org: str
    key_id: str
    address: str
    height: str
    rtt: str


@dataclass(frozen=True)
class ValidatorRow:
    org: str
    key_id: str
    online: bool
    last_vote: str


@dataclass(frozen=True)
class NetworkView:
    summary: str
    consensus: str
    banner: str | None
    peers: list[PeerRow]
    validators: list[ValidatorRow]


def _short(kid: str) -> str:
    return kid[:16]


def _vote_text(v: dict[str, Any] | None, now_ms: int) -> str:
    if not v:
        return "—"
    ago = max(0, now_ms - int(v.get("at_ms", now_ms))) / 1000
    target = "nil" if v.get("block_id") is None else str(v["block_id"])[:12]
    return f"{v.get('type')} h{v.get('height')} r{v.get('round')} {target} ({ago:.0f} s ago)"


def summarize(status: dict[str, Any], now_ms: int, recent_ms: int = 10_000) -> NetworkView:
    me = status.get("node_key", "")
    role = status.get("role")
    if role is None:  # a dev-chain node: no peer network
        return NetworkView(
            f"Dev chain {str(status.get('chain_id', ''))[:16]} · height {status.get('height')}",
            "single validator, no consensus network", None, [], [],
        )
    peers = status.get("peers") or []
    connected = {p["key_id"] for p in peers}
    votes = status.get("last_votes") or {}
    rows = []
    online = 0
    for v in status.get("validator_set") or []:
        kid = v["key_id"]
        last = votes.get(kid)
        recent = last is not None and now_ms - int(last.get("at_ms", 0)) <= recent_ms
        up = kid == me or kid in connected or recent
        online += up
        rows.append(ValidatorRow(v.get("org") or "?", kid, up, _vote_text(last, now_ms)))
    cons = status.get("consensus") or {}
    quorum = int(cons.get("quorum", 0))
    alarms = []
    if rows and online < quorum:
        alarms.append(f"{online} of {len(rows)} validators online, {quorum} needed: the chain cannot commit")
    signers = status.get("double_signers") or []
    if signers:
        orgs = {v["key_id"]: v.get("org") or "?" for v in status.get("validator_set") or []}
        who = ", ".join(f"{orgs.get(k, '?')} ({_short(k)})" for k in signers)
        alarms.append(f"Double signing by {who}: the evidence is in evidence.jsonl and sent to the peers")
    banner = "\n".join(alarms) or None
    peer_rows = [
        PeerRow(
            p.get("org") or "?",
            p["key_id"],
            f"{p.get('host')}:{p.get('port')}",
            "—" if p.get("height") is None else str(p["height"]),
            "—" if p.get("rtt_us") is None else f"{p['rtt_us'] / 1000:.1f} ms",
        )
        for p in sorted(peers, key=lambda p: (str(p.get("org")), p["key_id"]))
    ]
    summary = (
        f"{'Validator' if role == 'validator' else 'Full node'} {_short(me)} · chain "
        f"{str(status.get('chain_id', ''))[:16]} · height {status.get('height')} · "
        f"{len(peers)} peers · {online} of {len(rows)} validators online"
    )
    consensus = (
        f"height {cons.get('height')} · round {cons.get('round')} · step {cons.get('step')}"
        f" · quorum {quorum}"
    )
    return NetworkView(summary, consensus, banner, peer_rows, rows)
