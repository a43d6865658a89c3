"""Blocks, headers and commits.

Block = header {chain_id, height, time, prev_hash, tx_root, app_hash, validators_hash, proposer,
last_commit_hash} + transactions + the commit of the previous block. The block id is the hex
SHA-256 of the canonical header. A commit = the round and the validators' precommit signatures
over signing_bytes(DOMAIN_VOTE, chain_id, {"type": "precommit", "height", "round", "block_id"}),
the vote body the consensus engine signs, so its commits drop in unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bedrock.canonical import EncodingError, canonical, decode, digest_hex
from bedrock.errors import CodedError
from ledger_core.chain import json_shape as s
from ledger_core.chain.tx import Tx, TxError, from_obj
from ledger_core.crypto import merkle
from ledger_core.crypto.domains import DOMAIN_VOTE, signing_bytes
from ledger_core.crypto.signing import Signer, VerifiedCache, signature_key, verify

ZERO_HASH = "0" * 64
MAX_HEADER_BYTES = 4096
MAX_COMMIT_BYTES = 1024 * 1024
# A block's canonical JSON (header, txs, last commit) stays below this, so that the block and its
# commit travel as one sync item, and a proposal as one message, inside the 4 MiB peer frame.
MAX_BLOCK_BYTES = 3_500_000
_BLOCK_FRAME = len('{"header":,"last_commit":,"txs":[]}')

HEADER = s.Obj(
    {
        "chain_id": s.Hex64,
        "height": s.Int(1, 2**62),
        "time": s.Int(0, 2**62),
        "prev_hash": s.Hex64,
        "tx_root": s.Hex64,
        "app_hash": s.Hex64,
        "validators_hash": s.Hex64,
        "proposer": s.Hex64,
        "last_commit_hash": s.Hex64,
    }
)
COMMIT = s.Obj(
    {
        "height": s.Int(1, 2**62),
        "round": s.Int(0, 2**31),
        "block_id": s.Hex64,
        "signatures": s.List(s.Obj({"validator": s.Hex64, "signature": s.Hex128}), 1000, 1),
    }
)


class BlockError(CodedError, ValueError):
    """A block, header or commit that does not verify; `code` is a stable reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def block_id(header: dict[str, Any]) -> str:
    return digest_hex(header)


def tx_root(tx_hashes: list[str]) -> str:
    """RFC 9162 Merkle root over the 32-byte transaction hashes, in block order."""
    return merkle.root([bytes.fromhex(h) for h in tx_hashes]).hex()


def commit_hash(commit: dict[str, Any] | None) -> str:
    return ZERO_HASH if commit is None else digest_hex(commit)


def quorum(n: int) -> int:
    """Votes needed among n equal-weight validators: floor(2n/3) + 1."""
    return 2 * n // 3 + 1


def vote_body(height: int, round_: int, block_id_: str) -> dict[str, Any]:
    return {"type": "precommit", "height": height, "round": round_, "block_id": block_id_}


def sign_commit(signers: list[Signer], chain_id: str, height: int, round_: int, bid: str) -> dict[str, Any]:
    msg = signing_bytes(DOMAIN_VOTE, chain_id, vote_body(height, round_, bid))
    sigs = sorted(
        ({"validator": sg.key_id, "signature": sg.sign(msg).hex()} for sg in signers),
        key=lambda x: x["validator"],
    )
    return {"height": height, "round": round_, "block_id": bid, "signatures": sigs}


def verify_commit(
    commit: Any, chain_id: str, height: int, bid: str, validators: dict[str, bytes],
    cache: VerifiedCache | None = None,
) -> None:
    """A quorum of distinct current validators signed the precommit for (height, block id).
    Signatures already in `cache` (by `signing.signature_key`) are not verified again."""
    try:
        COMMIT(commit, "commit")
    except s.SchemaError as exc:
        raise BlockError("bad_commit", str(exc)) from None
    if commit["height"] != height or commit["block_id"] != bid:
        raise BlockError("commit_mismatch", f"commit is for height {commit['height']}, not this block")
    msg = signing_bytes(DOMAIN_VOTE, chain_id, vote_body(height, commit["round"], bid))
    signed: set[str] = set()
    for entry in commit["signatures"]:
        v = entry["validator"]
        if v in signed:
            raise BlockError("duplicate_signer", f"validator {v[:16]} signed twice")
        pub = validators.get(v)
        if pub is None:
            raise BlockError("unknown_signer", f"{v[:16]} is not a validator at height {height}")
        sig = bytes.fromhex(entry["signature"])
        key = None if cache is None else signature_key(pub, sig, msg)
        if key is None or key not in cache:
            if not verify(pub, sig, msg):
                raise BlockError("bad_commit_signature", f"signature of validator {v[:16]} does not verify")
            if key is not None:
                cache.add(key)
        signed.add(v)
    need = quorum(len(validators))
    if len(signed) < need:
        raise BlockError("no_quorum", f"{len(signed)} of {len(validators)} validators signed, {need} needed")


def parse_header(raw: bytes) -> dict[str, Any]:
    try:
        header = decode(raw, max_bytes=MAX_HEADER_BYTES)
        HEADER(header, "header")
    except (EncodingError, s.SchemaError) as exc:
        raise BlockError("bad_header", f"header: {exc}") from None
    return header


def parse_commit(raw: bytes) -> dict[str, Any]:
    try:
        commit = decode(raw, max_bytes=MAX_COMMIT_BYTES)
        COMMIT(commit, "commit")
    except (EncodingError, s.SchemaError) as exc:
        raise BlockError("bad_commit", f"commit: {exc}") from None
    return commit


@dataclass(frozen=True)
class Block:
    """A block; its header is never changed once the block exists (the id is cached)."""

    header: dict[str, Any]
    txs: list[Tx]
    last_commit: dict[str, Any] | None

    @cached_property
    def id(self) -> str:
        return block_id(self.header)

    @property
    def height(self) -> int:
        return self.header["height"]

    def header_bytes(self) -> bytes:
        return canonical(self.header)

    def encoded_size(self) -> int:
        """len(canonical(self.to_obj())), from the parts' sizes (no re-encoding)."""
        return block_size(self.header, [len(t.raw) for t in self.txs], self.last_commit)

    def to_obj(self) -> dict[str, Any]:
        return {
            "header": self.header,
            "txs": [t.envelope() for t in self.txs],
            "last_commit": self.last_commit,
        }


def block_size(
    header: dict[str, Any], tx_sizes: list[int], last_commit: dict[str, Any] | None
) -> int:
    """The canonical size of a block with this header, these transactions' canonical sizes and
    this last commit."""
    commit = 4 if last_commit is None else len(canonical(last_commit))
    return _BLOCK_FRAME + len(canonical(header)) + commit + sum(tx_sizes) + max(0, len(tx_sizes) - 1)


def fitting(txs: list[Tx], last_commit: dict[str, Any] | None) -> list[Tx]:
    """The longest prefix of `txs` that a block carrying `last_commit` holds within
    `MAX_BLOCK_BYTES` (whatever its header: the header's own bound is reserved)."""
    room = MAX_BLOCK_BYTES - block_size({}, [], last_commit) - MAX_HEADER_BYTES
    for i, tx in enumerate(txs):
        room -= len(tx.raw) + 1
        if room < 0:
            return txs[:i]
    return txs


def make_header(
    chain_id: str,
    height: int,
    time_ms: int,
    prev_hash: str,
    tx_hashes: list[str],
    app_hash: str,
    validators_hash: str,
    proposer: str,
    last_commit: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "chain_id": chain_id,
        "height": height,
        "time": time_ms,
        "prev_hash": prev_hash,
        "tx_root": tx_root(tx_hashes),
        "app_hash": app_hash,
        "validators_hash": validators_hash,
        "proposer": proposer,
        "last_commit_hash": commit_hash(last_commit),
    }


def parse_block(
    obj: Any,
    max_txs: int = 100_000,
    max_tx_bytes: int = 1024 * 1024,
    max_block_bytes: int = MAX_BLOCK_BYTES,
) -> Block:
    """A block received from a peer ({"header", "txs", "last_commit"}, as `Block.to_obj`), checked
    for form only (including its size: `MAX_BLOCK_BYTES`); `chain.Chain.check_block` does the
    rest."""
    if type(obj) is not dict or set(obj) != {"header", "txs", "last_commit"}:
        raise BlockError("bad_block", "a block is an object with header, txs and last_commit")
    try:
        HEADER(obj["header"], "header")
        if obj["last_commit"] is not None:
            COMMIT(obj["last_commit"], "last_commit")
    except s.SchemaError as exc:
        raise BlockError("bad_block", str(exc)) from None
    if type(obj["txs"]) is not list or len(obj["txs"]) > max_txs:
        raise BlockError("bad_block", f"txs must be a list of at most {max_txs} transactions")
    txs = []
    for i, env in enumerate(obj["txs"]):
        try:
            txs.append(from_obj(env, max_bytes=max_tx_bytes))
        except TxError as exc:
            raise BlockError("bad_tx", f"transaction {i}: {exc.code}: {exc}") from None
    block = Block(obj["header"], txs, obj["last_commit"])
    size = block.encoded_size()
    if size > max_block_bytes:
        raise BlockError("block_too_large", f"block of {size} bytes, the limit is {max_block_bytes}")
    return block
