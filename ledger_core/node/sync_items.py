"""Block sync items: a batch read from the store; parsing and checking fetched blocks.

A node that is behind asks a peer that announced a higher height for
`{"t": "get_blocks", "from": H, "limit": N}` and gets `{"t": "blocks", "blocks": [item, ...]}`
with each item the object `{"block": Block.to_obj(), "commit": commit}`, heights H, H+1, ... in
order (at most `limit` items and about `MAX_BATCH_BYTES`; `sync_schedule` decides whom to ask,
`block_sync` serves, fetches and applies). The server puts the message's canonical bytes
together from its stored canonical bytes (no parse, no re-encode: `read_batch`,
`blocks_bytes`). Items are objects, not JSON strings: in a string every quote and backslash of a
transaction would be escaped a second time, and a block that fits a proposal could then not be
sent (a block of comments full of `"` nearly doubles). A block's canonical size is bounded by
`MAX_BLOCK_BYTES` when it is proposed, so block and commit always fit one message.
Each item is checked before it is applied:
`parse_block` (form, sizes), `Chain.check_block` (height, hashes, prev link, every transaction
signature, the carried last commit against the previous height's validator set, re-execution
to the header's app_hash) and `Chain.persist`, which checks that a quorum of the validators of
that height signed the block's own commit. Nothing is trusted from the serving peer.
"""

from __future__ import annotations

import json
from typing import Any

from ledger_core.chain.block import Block, BlockError, parse_block
from ledger_core.chain.replica import Chain
from ledger_core.chain.signature_farm import Job, commit_jobs, tx_jobs
from ledger_core.chain.state import BlockResult
from ledger_core.chain.store import LedgerStore

MAX_BATCH_BLOCKS = 500
MAX_BATCH_BYTES = 2 * 1024 * 1024


def read_batch(
    store: LedgerStore, start: int, limit: int, max_bytes: int = MAX_BATCH_BYTES
) -> list[bytes]:
    """Stored blocks from `start` on as sync items, each the canonical JSON bytes of
    {"block", "commit"} put together from the stored canonical bytes (no parse, no re-encode);
    at least one block when one exists."""
    limit = max(1, min(limit, MAX_BATCH_BLOCKS))
    out: list[bytes] = []
    size = 0
    for row, txrows in store.iter_blocks(start, batch=min(limit, 200)):
        item = b"".join((
            b'{"block":{"header":', _raw(row.header),
            b',"last_commit":', b"null" if row.last_commit is None else _raw(row.last_commit),
            b',"txs":[', b",".join(_raw(x.raw) for x in txrows),
            b']},"commit":', _raw(row.commit), b"}",
        ))
        size += len(item)
        if out and size > max_bytes:
            break
        out.append(item)
        if len(out) >= limit:
            break
    return out


def blocks_bytes(items: list[bytes]) -> bytes:
    """The canonical JSON bytes of `{"t": "blocks", "blocks": [item, ...]}`."""
    return b'{"blocks":[' + b",".join(items) + b'],"t":"blocks"}'


def _raw(raw: bytes | str) -> bytes:
    return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)


def load_item(item: Any) -> Any:
    """A sync item to its object: as sent (an object) it is returned as is; the encoded form
    `read_batch` returns (local callers, tests) is parsed with plain `json.loads`: every hash and
    signature is then checked on values re-encoded canonically from what was parsed, and the
    form checks refuse floats, odd types and missing or extra fields."""
    if type(item) not in (str, bytes):
        return item
    try:
        return json.loads(item)
    except (ValueError, RecursionError):
        raise BlockError("bad_block", "a sync item is not JSON") from None


def item_height(item: Any) -> int:
    """The height a sync item claims (0 when it has none; `check_item` checks it)."""
    try:
        item = load_item(item)
        h = item["block"]["header"]["height"]
    except (TypeError, KeyError, BlockError):
        return 0
    return h if type(h) is int else 0


def parse_item(chain: Chain, item: Any) -> tuple[Block, Any]:
    """Form checks of one sync item (text or object): (block, commit); raises BlockError."""
    item = load_item(item)
    if type(item) is not dict or set(item) != {"block", "commit"}:
        raise BlockError("bad_block", "a sync item is an object with block and commit")
    block = parse_block(
        item["block"],
        max_txs=chain.state.param("max_block_txs"),
        max_tx_bytes=chain.state.param("max_tx_bytes"),
    )
    return block, item["commit"]


def prepare(chain: Chain, items: list[Any]) -> tuple[list[tuple[Block, Any]], BlockError | None]:
    """Parse a batch: the items parsed before the first malformed one, and that one's error
    (any exception a hostile item provokes becomes a BlockError: nothing raises out)."""
    parsed: list[tuple[Block, Any]] = []
    error = None
    for item in items:
        try:
            parsed.append(parse_item(chain, item))
        except BlockError as exc:
            error = exc
            break
        except Exception as exc:
            error = BlockError("bad_block", f"a sync item could not be parsed: {exc!r}"[:300])
            break
    return parsed, error


def signature_jobs(chain: Chain, parsed: list[tuple[Block, Any]]) -> list[Job]:
    """The signature checks of parsed blocks that a `SignatureFarm` can do ahead of the replay:
    transactions of senders and commits of validators the head state knows. Whatever the farm
    confirms enters the chain's cache; everything else is verified in line."""
    txs = (tx for block, _c in parsed for tx in block.txs)
    return tx_jobs(chain.state.tables["participant"], txs, chain.cache) + commit_jobs(
        chain.chain_id, chain.state.validators(), (commit for _b, commit in parsed))


def check_parsed(chain: Chain, block: Block) -> BlockResult:
    """Replay checks of a parsed block against the chain's head; raises BlockError.
    The commit's quorum is checked by `Chain.check_commit` / `Chain.persist`."""
    if block.height != chain.height + 1:
        raise BlockError("bad_height", f"expected height {chain.height + 1}, got {block.height}")
    return chain.check_block(block)


def check_item(chain: Chain, item: Any) -> tuple[Block, Any, BlockResult]:
    """`parse_item` + `check_parsed`."""
    block, commit = parse_item(chain, item)
    return block, commit, check_parsed(chain, block)
