"""A consortium of 4 validators on loopback whose 4th is the hostile process (or, for a
baseline, an honest `bcmlp node`), and what the honest nodes say about it: heights, bans, RSS.
Set-up and processes come from `bench_ledger_cmd.setup_consortium` and `cluster_procs`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.commands.bench_ledger_cmd import setup_consortium
from app.commands.cluster_procs import NodeProc, cluster
from app.db import make_engine, sqlite_url
from app.hostile.forge import worst_note
from app.hostile.proc import HostileProc
from app.services.node_key import load_node_key
from bedrock.canonical import canonical
from ledger_core.chain import tx as txm
from ledger_core.chain.genesis import Genesis
from ledger_core.chain.store import LedgerStore
from ledger_core.crypto.signing import Signer
from ledger_core.node.client import NodeClient, NodeUnavailable
from ledger_core.node.sync_items import read_batch

VALIDATORS = 4


@dataclass
class HostileCluster:
    genesis: Genesis
    devices: list[Signer]
    honest: list[NodeProc]
    hostile: NodeProc  # a HostileProc, or an honest NodeProc for a baseline
    hostile_key: str
    extra: list[NodeProc]  # more nodes (full nodes) not started with the others

    @property
    def procs(self) -> list[NodeProc]:
        return [*self.honest, self.hostile, *self.extra]

    def start(self, timeout: float = 60, fourth: bool = True) -> None:
        """Start the honest nodes and (unless not `fourth`: a crashed validator) the 4th."""
        procs = [*self.honest, self.hostile] if fourth else self.honest
        for p in procs:
            p.start()
        for p in procs:
            p.wait_ready(timeout)

    def heights(self) -> list[int]:
        return [height(p) for p in self.honest]


def make(base: Path, scenario: str | None, seed: int = 0, senders: int = 4,
         extra_args: list[str] | None = None, full_nodes: int = 0) -> HostileCluster:
    """The consortium in `base` (node-1..3 honest, node-4 hostile running `scenario`, or honest
    when None; node-5.. full nodes), not started."""
    g, devices, roots = setup_consortium(base, VALIDATORS + full_nodes, senders, VALIDATORS)
    procs = cluster(roots, extra_args)
    fourth = procs[3] if scenario is None else HostileProc(procs[3], scenario, seed)
    key = load_node_key(roots[3], create=False).key_id
    return HostileCluster(g, devices, procs[:3], fourth, key, procs[VALIDATORS:])


def worst_ratings(c: HostileCluster, count: int) -> None:
    """`count` rating.submit transactions with 500-character comments of `"` and `\\` (the
    largest a rating can be), signed by the last device, sent to the first honest node."""
    device = c.devices[-1]
    now = time.time_ns() // 1_000_000
    txs = [txm.make(device, c.genesis.chain_id, "rating.submit", n + 1,
                    {"subject_kind": "org", "subject": "org-2", "judges": "ab" * 32,
                     "positive": 1, "negative": 0, "comment": worst_note()}, now).envelope()
           for n in range(count)]
    with NodeClient(c.honest[0].root / "node.sock", timeout=30) as cl:
        for i in range(0, count, 250):
            cl.request("submit_batch", txs=txs[i:i + 250], wait=False)


def height(p: NodeProc) -> int:
    try:
        return p.status()["height"]
    except (NodeUnavailable, OSError, KeyError):
        return -1


def bans_of(p: NodeProc) -> list[dict[str, Any]]:
    """The node's "bans" list ([] while it has none, or cannot answer)."""
    try:
        return list(p.status().get("bans") or [])
    except (NodeUnavailable, OSError):
        return []


def banned_by_all(honest: list[NodeProc], key_id: str) -> bool:
    return all(any(b.get("key_id") == key_id for b in bans_of(p)) for p in honest)


def banned_by_any(honest: list[NodeProc], key_id: str) -> bool:
    return any(any(b.get("key_id") == key_id for b in bans_of(p)) for p in honest)


def largest_sync_message(root: Path) -> tuple[int, int]:
    """(height, bytes) of the block whose one-block sync message is the largest in the chain of
    the node at `root` (read beside the running node: SQLite WAL readers)."""
    engine = make_engine(sqlite_url(root / "ledger.sqlite"))
    try:
        store = LedgerStore(engine)
        best = (0, 0)
        h = 1
        while items := read_batch(store, h, 1):
            item = items[0]
            obj = json.loads(item) if isinstance(item, bytes) else item
            size = len(canonical({"t": "blocks", "blocks": [obj]}))
            best = max(best, (size, h))
            h += 1
        return best[1], best[0]
    finally:
        engine.dispose()


def rss_mb(p: NodeProc) -> float | None:
    """Resident memory of the node process (Linux /proc), None when it is gone."""
    if p.proc is None:
        return None
    try:
        for line in Path(f"/proc/{p.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def wait_until(pred: Any, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True
