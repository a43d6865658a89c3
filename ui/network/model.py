"""What the Network perspective shows, computed from the node's `status` answer (no Qt).

A validator counts as online when it is this node, a connected peer, or has voted within
`recent_ms`; when fewer than the quorum are online the chain cannot commit and a banner
says so ("2 of 4 validators online, 3 needed"). Double signing seen by the node (verified
evidence) is a banner too, naming the validators, and so are the peers this node has banned
for misbehaviour (listed in full in `bans`). The ban entries come from another process: a
missing or ill-typed field shows as "?" and never raises. Times are UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
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
class BanRow:
    org: str
    key_id: str  # short
    reason: str  # the code, what it means where known, and the node's detail
    since: str  # "HH:MM:SS (N s ago)"
    until: str  # "HH:MM:SS"
    offences: str


@dataclass(frozen=True)
class NetworkView:
    summary: str
    consensus: str
    banner: str | None
    peers: list[PeerRow]
    validators: list[ValidatorRow]
    bans: list[BanRow] = field(default_factory=list)


REASONS = {
    "bad_block": "sent an invalid block",
    "rate_limited": "sent too many messages",
    "time_in_future": "sent a timestamp in the future",
    "handler_error": "its message failed in the handler",
}
DETAIL_CHARS = 120
BANNER_BANS = 3  # named in the banner; the rest are counted


def _short(kid: str) -> str:
    return kid[:16]


def _vote_text(v: dict[str, Any] | None, now_ms: int) -> str:
    if not v:
        return "—"
    ago = max(0, now_ms - int(v.get("at_ms", now_ms))) / 1000
    target = "nil" if v.get("block_id") is None else str(v["block_id"])[:12]
    return f"{v.get('type')} h{v.get('height')} r{v.get('round')} {target} ({ago:.0f} s ago)"


def _text(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _int(v: Any) -> int | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v or abs(v) > 1e15:
        return None
    return int(v)


def _clock(ms: int, now_ms: int) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    now = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
    return t.strftime("%H:%M:%S" if t.date() == now.date() else "%Y-%m-%d %H:%M:%S")


def _ago(ms: int) -> str:
    s = max(0, ms) // 1000
    if s < 120:
        return f"{s} s ago"
    if s < 120 * 60:
        return f"{s // 60} min ago"
    return f"{s // 3600} h ago"


def _ban(b: Any, now_ms: int) -> tuple[BanRow, str, int | None]:
    """The row of one ban entry, its reason code ("?" when unreadable) and its start."""
    b = b if isinstance(b, dict) else {}
    kid = _text(b.get("key_id"))
    code = _text(b.get("reason")) or "?"
    reason = code + (f": {REASONS[code]}" if code in REASONS else "")
    detail = _text(b.get("detail"))
    if detail:
        if len(detail) > DETAIL_CHARS:
            detail = detail[: DETAIL_CHARS - 1] + "…"
        reason += f" ({detail})"
    since, until, offences = (_int(b.get(k)) for k in ("since_ms", "until_ms", "offences"))
    row = BanRow(
        _text(b.get("org")) or _text(b.get("name")) or "?",
        "?" if kid is None else _short(kid),
        reason,
        "?" if since is None else f"{_clock(since, now_ms)} ({_ago(now_ms - since)})",
        "?" if until is None else _clock(until, now_ms),
        "?" if offences is None else str(offences),
    )
    return row, code, since


def _bans(status: dict[str, Any], now_ms: int) -> tuple[list[BanRow], str | None]:
    """The ban rows, most recent first, and the banner line naming them (None: no bans)."""
    raw = status.get("bans")
    bans = [_ban(b, now_ms) for b in (raw if isinstance(raw, list) else [])]
    if not bans:
        return [], None
    bans.sort(key=lambda b: float("inf") if b[2] is None else -b[2])
    named = ", ".join(
        f"{row.key_id if row.org == '?' else row.org} ({code})"
        for row, code, _ in bans[:BANNER_BANS]
    )
    more = f" and {len(bans) - BANNER_BANS} more" if len(bans) > BANNER_BANS else ""
    noun = "peer" if len(bans) == 1 else "peers"
    return [row for row, _, _ in bans], f"{len(bans)} {noun} banned: {named}{more}"


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
    raw_bans = status.get("bans")
    banned = {b.get("key_id") for b in (raw_bans if isinstance(raw_bans, list) else [])
              if isinstance(b, dict)}
    rows = []
    online = 0
    for v in status.get("validator_set") or []:
        kid = v["key_id"]
        last = votes.get(kid)
        recent = last is not None and now_ms - int(last.get("at_ms", 0)) <= recent_ms
        # a banned validator counts as offline here, whatever it voted before its ban
        up = kid == me or (kid not in banned and (kid in connected or recent))
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
    bans, ban_alarm = _bans(status, now_ms)
    if ban_alarm:
        alarms.append(ban_alarm)
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
    return NetworkView(summary, consensus, banner, peer_rows, rows, bans)
