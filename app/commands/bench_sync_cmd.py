"""`bcmlp bench sync`: how fast a fresh node catches up a chain through the peer network.

Builds a chain of N blocks (T transactions each) of a 4-validator consortium offline, signing
every commit with three of the four validator keys, into node-1's database; starts node-1 as
the source and a fresh node-2 (same genesis, its own key, empty database) with node-1 as its
only peer, and times node-2 from its start until it holds height N. node-2 checks every block
(hashes, every transaction signature, the commit quorum) before applying it.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from app.commands.bench_ledger_cmd import _sign_load, setup_consortium
from app.commands.cluster_procs import bench_folder, cluster, stop_all
from app.commands.common import json_option, print_fields
from app.db import make_engine, sqlite_url
from app.errors import UserError
from app.services.node_key import load_node_key
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain import tx as txm
from ledger_core.chain.block import sign_commit
from ledger_core.chain.replica import Chain
from ledger_core.chain.store import LedgerStore
from ledger_core.node.client import NodeUnavailable


def build_chain(root: Path, signers: list, genesis, load: list[dict], blocks: int, per_block: int) -> int:
    """Append `blocks` blocks to root's database (each with up to per_block txs of `load`)."""
    engine = make_engine(sqlite_url(root / "ledger.sqlite"))
    try:
        chain = Chain(LedgerStore(engine), genesis, rules=LEDGER_RULES)
        t0 = time.time_ns() // 1_000_000
        it = iter(load)
        total = 0
        entries = []
        for h in range(1, blocks + 1):
            txs = [txm.from_obj(env) for _, env in zip(range(per_block), it, strict=False)]
            block, result = chain.propose(txs, signers[h % len(signers)].key_id, t0 + h)
            commit = sign_commit(signers[:3], chain.chain_id, block.height, 0, block.id)
            vals = chain.check_commit(block, commit)
            chain.advance(block, commit, result, vals)
            entries.append((block, commit, result, vals))
            if len(entries) >= 200 or h == blocks:
                chain.persist_many(entries)
                entries = []
            total += len(result.accepted)
        return total
    finally:
        engine.dispose()


@click.command("sync")
@click.option("--blocks", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--txs-per-block", default=10, show_default=True, type=click.IntRange(0, 5000))
@click.option("--timeout", default=600.0, show_default=True, type=click.FloatRange(1, 36000))
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Keep the node directories as <data-dir>/node-1/ ... (default: temporary ones).")
@json_option
def bench_sync_cmd(blocks, txs_per_block, timeout, data_dir, as_json) -> None:
    """Catch-up speed of a fresh node: {"blocks", "txs", "seconds", "blocks_per_s", "tx_per_s", ...}."""
    with bench_folder(data_dir, 4, "bcmlp-bench-sync-") as (base, procs):
        senders = 64
        g, devices, roots = setup_consortium(base, 4, senders)
        keys = [load_node_key(r, create=False) for r in roots]
        t_build = time.perf_counter()
        load = _sign_load(g, devices, blocks * txs_per_block)
        txs = build_chain(roots[0], keys, g, load, blocks, txs_per_block)
        build_s = time.perf_counter() - t_build
        procs += cluster(roots[:2])
        procs[0].start()
        procs[0].wait_ready(60)
        t0 = time.perf_counter()
        procs[1].start()
        deadline = t0 + timeout
        height = 0
        while height < blocks:
            if time.perf_counter() > deadline:
                raise UserError(f"the fresh node reached height {height} of {blocks} within {timeout:.0f} s")
            if not procs[1].running:
                raise UserError(f"the fresh node exited; see {roots[1] / 'node.out'}")
            try:
                height = procs[1].status()["height"]
                if height >= blocks and procs[1].client.block(blocks) is None:
                    height = blocks - 1  # checked and applied, the last write still running
            except NodeUnavailable:
                pass
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
        app_hashes = {p.client.block(blocks)["header"]["app_hash"] for p in procs}
        codes = stop_all(procs)
    out = {
        "blocks": blocks,
        "txs": txs,
        "seconds": round(seconds, 2),
        "blocks_per_s": round(blocks / seconds, 1),
        "tx_per_s": round(txs / seconds, 1),
        "app_hash_agree": len(app_hashes) == 1,
        "build_seconds": round(build_s, 2),
        "node_exit_codes": codes,
        "data_dir": None if data_dir is None else str(base),
    }
    print_fields(out, as_json, 14)
