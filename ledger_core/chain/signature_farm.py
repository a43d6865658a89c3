"""Signature checks ahead of a replay, in worker processes (chain verification, block sync).

The main process parses upcoming blocks and hands their (id, public key, signature, message)
jobs to the farm while it replays earlier ones; the ids of the signatures that verified come back
and enter the chain's verified cache. Only successes are reported, so anything the farm did not
confirm (a bad signature, a signer the state did not know yet) is checked again in line by the
replay: the verdict and the failing height never depend on the farm.

Jobs cross the process boundary through multiprocessing's own channel; they hold only bytes and
strings our process built from already-parsed blocks, never peer input to be unpickled.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from ledger_core.chain import block as blk
from ledger_core.chain import json_shape as s
from ledger_core.chain.tx import Tx
from ledger_core.crypto.domains import DOMAIN_VOTE, signing_bytes
from ledger_core.crypto.signing import VerifiedCache, signature_key, verified_hashes

Job = tuple[str, bytes, bytes, bytes]  # (cache id, public key, signature, message)


def default_workers() -> int:
    """One process per core beside the main one, at least one, at most four."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


class SignatureFarm:
    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, jobs: list[Job]) -> list[Future[list[str]]]:
        """The jobs split over the workers; each future gives the ids that verified."""
        if not jobs:
            return []
        step = len(jobs) // self.workers + 1
        return [self.pool.submit(verified_hashes, jobs[i:i + step]) for i in range(0, len(jobs), step)]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def tx_jobs(participants: dict[str, Any], txs: Iterable[Tx], cache: VerifiedCache | None = None) -> list[Job]:
    """Jobs for transactions whose sender the state already knows and whose hash is not cached."""
    jobs = []
    for tx in txs:
        p = participants.get(tx.sender)
        if p is not None and (cache is None or tx.hash not in cache):
            jobs.append((tx.hash, bytes.fromhex(p["public_key"]), tx.signature, tx.signed_bytes()))
    return jobs


def commit_jobs(chain_id: str, validators: dict[str, bytes], commits: Iterable[Any]) -> list[Job]:
    """Jobs for the signatures of commits by known validators, keyed as `block.verify_commit`
    looks them up; a commit of the wrong form gives none (its check in line refuses it)."""
    jobs = []
    for commit in commits:
        try:
            blk.COMMIT(commit, "commit")
        except s.SchemaError:
            continue
        body = blk.vote_body(commit["height"], commit["round"], commit["block_id"])
        msg = signing_bytes(DOMAIN_VOTE, chain_id, body)
        for entry in commit["signatures"]:
            pub = validators.get(entry["validator"])
            if pub is not None:
                sig = bytes.fromhex(entry["signature"])
                jobs.append((signature_key(pub, sig, msg), pub, sig, msg))
    return jobs
