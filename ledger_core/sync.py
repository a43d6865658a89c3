"""Block sync: the batch request/response on the peer network, and checking a fetched block.

A node that is behind asks a peer that announced a higher height for
`{"t": "get_blocks", "from": H, "limit": N}` and gets `{"t": "blocks", "blocks": [item, ...]}`
with `item = {"block": Block.to_obj(), "commit": commit}`, heights H, H+1, ... in order (at most
`limit` items and about `MAX_BATCH_BYTES`). Each item is checked before it is applied:
`parse_block` (form, sizes), `Chain.check_block` (height, hashes, prev link, every transaction
signature, the carried last commit against the previous height's validator set, re-execution
to the header's app_hash) and `Chain.persist`, which checks that a quorum of the validators of
that height signed the block's own commit. Nothing is trusted from the serving peer.
"""

from __future__ import annotations

import json
from typing import Any

from ledger_core.block import Block, BlockError, parse_block
from ledger_core.chain import Chain
from ledger_core.state import BlockResult
from ledger_core.store import LedgerStore

MAX_BATCH_BLOCKS = 500
MAX_BATCH_BYTES = 2 * 1024 * 1024


def read_batch(store: LedgerStore, start: int, limit: int, max_bytes: int = MAX_BATCH_BYTES) -> list[dict[str, Any]]:
    """Stored blocks from `start` on as sync items; at least one block when one exists."""
    limit = max(1, min(limit, MAX_BATCH_BLOCKS))
    out: list[dict[str, Any]] = []
    size = 0
    for row, txrows in store.iter_blocks(start, batch=min(limit, 200)):
        raw_txs = [bytes(x.raw) for x in txrows]
        size += len(row.header) + len(row.commit) + len(row.last_commit or b"") + sum(map(len, raw_txs))
        if out and size > max_bytes:
            break
        out.append({
            "block": {
                "header": json.loads(row.header),
                "txs": [json.loads(x) for x in raw_txs],
                "last_commit": None if row.last_commit is None else json.loads(row.last_commit),
            },
            "commit": json.loads(row.commit),
        })
        if len(out) >= limit:
            break
    return out


def check_item(chain: Chain, item: Any) -> tuple[Block, dict[str, Any], BlockResult]:
    """Form and replay checks of one sync item against the chain's head; raises BlockError.
    The commit's quorum is checked by `Chain.persist`."""
    if type(item) is not dict or set(item) != {"block", "commit"}:
        raise BlockError("bad_block", "a sync item is an object with block and commit")
    block = parse_block(
        item["block"],
        max_txs=chain.state.param("max_block_txs"),
        max_tx_bytes=chain.state.param("max_tx_bytes"),
    )
    if block.height != chain.height + 1:
        raise BlockError("bad_height", f"expected height {chain.height + 1}, got {block.height}")
    result = chain.check_block(block)
    return block, item["commit"], result
