"""The control socket's operations: one request `{"op": ...}` in, one JSON answer out.

Operations: `status`, `submit` (`tx`, `wait`), `submit_batch` (`txs`, at most `MAX_BATCH`,
`wait`), `nonce` (`key_id`), `block` (`height` or `id`), `blocks` (`before`/`after`, `limit`),
`tx` (`hash`), `participant` (`key_id`), `search` (`term`). A malformed request gets
`{"ok": false, "code": "bad_request", "message": ...}`; store reads run in a worker thread.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger_core.node.ledger_node import Node

MAX_BATCH = 10_000


async def answer(node: Node, req: dict[str, Any]) -> dict[str, Any]:
    op = req.get("op")
    store = node.chain.store
    try:
        if op == "status":
            return node.status()
        if op == "submit":
            (ans,) = await node.submit_many([req.get("tx")], bool(req.get("wait")))
            return ans
        if op == "submit_batch":
            txs = req.get("txs")
            if type(txs) is not list or len(txs) > MAX_BATCH:
                return _bad(f"txs must be a list of at most {MAX_BATCH} transactions")
            return {"ok": True, "results": await node.submit_many(txs, bool(req.get("wait")))}
        if op == "nonce":
            kid = _str(req, "key_id")
            committed = node.chain.state.nonce(kid)
            pending = node.mempool.pending_nonce(kid)
            return {"ok": True, "nonce": committed, "pending": pending,
                    "next": max(committed, pending or 0) + 1}
        if op == "block":
            if "height" in req:
                b = await asyncio.to_thread(store.block, _int(req, "height"))
            else:
                b = await asyncio.to_thread(store.block_by_id, _str(req, "id"))
            return {"ok": True, "block": b}
        if op == "blocks":
            before, after = req.get("before"), req.get("after")
            for v in (before, after):
                if v is not None and type(v) is not int:
                    return _bad("before/after must be heights")
            rows = await asyncio.to_thread(
                store.blocks_page, before, after, _int(req, "limit", 100)
            )
            return {"ok": True, "blocks": rows}
        if op == "tx":
            return {"ok": True, "tx": await asyncio.to_thread(store.tx, _str(req, "hash"))}
        if op == "participant":
            participants = node.chain.state.tables["participant"]
            return {"ok": True, "participant": participants.get(_str(req, "key_id"))}
        if op == "search":
            return {"ok": True, "result": await asyncio.to_thread(store.search, _str(req, "term"))}
    except ValueError as exc:
        return _bad(str(exc))
    return _bad(f"unknown op {op!r}")


def _bad(msg: str) -> dict[str, Any]:
    return {"ok": False, "code": "bad_request", "message": msg}


def _str(req: dict[str, Any], key: str) -> str:
    v = req.get(key)
    if type(v) is not str or len(v) > 200:
        raise ValueError(f"{key} must be a string")
    return v


def _int(req: dict[str, Any], key: str, default: int | None = None) -> int:
    v = req.get(key, default)
    if type(v) is not int:
        raise ValueError(f"{key} must be an integer")
    return v
