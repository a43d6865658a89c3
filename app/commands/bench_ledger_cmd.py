"""`bcmlp bench ledger`: real node processes under a load of signed transactions.

--nodes 1 runs the dev chain; --nodes N > 1 runs N validator processes of one consortium on
loopback with the real peer network (authenticated, encrypted) and Tendermint consensus; the
load goes to every node's control socket in turn and gossips from there.
tx_per_s: transactions committed per second from the first submission to the last commit.
commit_ms_p50/p95: per transaction, from sending its batch to the node's answer that it is
committed. heights / app_hash_agree: every node's height after the run, and whether all hold the
same app_hash at the lowest of them. The node directories (genesis.json, ledger.sqlite, keys/,
node.out) stay at <data-dir>/node-1/ ... when --data-dir is given.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path

import click

from app.commands.cluster_procs import NodeProc, bench_folder, cluster, stop_all
from app.commands.common import json_option, print_fields
from app.errors import UserError
from app.services.node_key import load_node_key
from bedrock.atomic import write_bytes_atomic
from ledger_core.chain import genesis as gen
from ledger_core.chain import tx as txm
from ledger_core.crypto.signing import Signer
from ledger_core.node.client import NodeUnavailable
from ledger_core.node.control_socket import encode_message, read_message

PROBES = 20  # single transactions after the load, for the unloaded commit latency
MAX_PRESIGNED = 300_000  # bounds memory and set-up time; a longer run ends when the load is used up


def setup_consortium(
    base: Path, nodes: int, senders: int, validators: int | None = None
) -> tuple[gen.Genesis, list[Signer], list[Path]]:
    """`base/node-1 .. node-N`, each with its node key and one shared genesis: N nodes of N
    organisations, the first `validators` (default all) of them validators, and `senders`
    monitor devices (of the first organisation) to sign the load."""
    validators = nodes if validators is None else validators
    roots = [base / f"node-{i + 1}" for i in range(nodes)]
    keys = []
    for root in roots:
        (root / "keys").mkdir(parents=True, mode=0o700)
        keys.append(load_node_key(root, create=True))
    seed = os.urandom(16)
    devices = [Signer(hashlib.sha256(seed + i.to_bytes(4, "big")).digest()) for i in range(senders)]
    orgs = [{"id": f"org-{i + 1}", "name": f"Company {i + 1}",
             "roles": ["monitor", "validator"] if i == 0 else ["validator"]} for i in range(nodes)]
    parts = [gen.participant_entry(k.public_raw, f"org-{i + 1}", f"node {i + 1}", "node",
                                   ["validator"] if i < validators else [])
             for i, k in enumerate(keys)] + [
        gen.participant_entry(d.public_raw, "org-1", f"sensor-{i}", "device", ["monitor"])
        for i, d in enumerate(devices)
    ]
    g = gen.make("bench", time.time_ns() // 1_000_000, orgs, parts, [k.key_id for k in keys[:validators]])
    for root in roots:
        write_bytes_atomic(root / "genesis.json", gen.dumps(g), mode=0o644)
    return g, devices, roots


def _sign_load(g: gen.Genesis, devices: list[Signer], count: int) -> list[dict]:
    now = time.time_ns() // 1_000_000
    out = []
    for n in range(count):
        d = devices[n % len(devices)]
        payload = {"component": "conveyor", "status": "ok", "metrics": {"seq": n, "temp_mc": 21500},
                   "about": None}
        out.append(txm.make(d, g.chain_id, "monitor.report", n // len(devices) + 1, payload, now).envelope())
    return out


def _per_client(load: list[dict], senders: int, clients: int, batch: int) -> list[list[list[dict]]]:
    """Each client's batches: the transactions of the senders it owns (sender % clients), in
    nonce order, so one sender's transactions always enter through the same node."""
    own: list[list[dict]] = [[] for _ in range(clients)]
    for n, env in enumerate(load):
        own[(n % senders) % clients].append(env)
    return [[txs[i:i + batch] for i in range(0, len(txs), batch)] for txs in own]


async def _drive(socks: list[Path], work: list[list[list[dict]]], seconds: float):
    latencies: list[float] = []
    committed = rejected = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def client(sock: Path, batches: list[list[dict]]) -> None:
        nonlocal committed, rejected
        reader, writer = await asyncio.open_unix_connection(str(sock), limit=2**24)
        try:
            for batch in batches:
                if time.perf_counter() > deadline:
                    break
                t0 = time.perf_counter()
                writer.write(encode_message({"op": "submit_batch", "txs": batch, "wait": True}))
                await writer.drain()
                answer = await read_message(reader)
                ms = (time.perf_counter() - t0) * 1000
                ok = sum(1 for r in answer["results"] if r["ok"])
                committed += ok
                rejected += len(batch) - ok
                latencies.extend([ms] * ok)
        finally:
            writer.close()

    await asyncio.gather(*(client(socks[i % len(socks)], w) for i, w in enumerate(work)))
    return committed, rejected, time.perf_counter() - start, latencies


def _probe(procs: list[NodeProc], probe: list[dict], pause: float) -> list[float]:
    """Unloaded commit latency: one transaction at a time, each waited for."""
    out = []
    for i, env in enumerate(probe):
        client = procs[i % len(procs)].client
        t0 = time.perf_counter()
        ans = client.request("submit", tx=env, wait=True)  # type: ignore[union-attr]
        if ans.get("ok"):
            out.append((time.perf_counter() - t0) * 1000)
        time.sleep(pause)
    return out


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 1)


@click.command("ledger")
@click.option("--nodes", default=1, show_default=True, type=click.IntRange(1, 16),
              help="Validator processes: 1 runs the dev chain, more a consortium over loopback.")
@click.option("--seconds", default=10.0, show_default=True, type=click.FloatRange(1, 3600))
@click.option("--senders", default=64, show_default=True, type=click.IntRange(2, 10_000),
              help="Signing devices (one more signs the unloaded-latency probes).")
@click.option("--batch", default=250, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--clients", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--rate-cap", default=8000, show_default=True, type=click.IntRange(100, 10**6),
              help="Transactions pre-signed per second of the run (the most the load can offer).")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Keep the node directories as <data-dir>/node-1/ ... (default: temporary ones).")
@json_option
def bench_ledger_cmd(nodes, seconds, senders, batch, clients, rate_cap, data_dir, as_json) -> None:
    """Throughput and commit latency: {"nodes", "tx_per_s", "commit_ms_p50", "commit_ms_p95",
    "heights", "app_hash_agree", ...}."""
    with bench_folder(data_dir, nodes, "bcmlp-bench-") as (base, procs):
        g, devices, roots = setup_consortium(base, nodes, senders)
        load = _sign_load(g, devices[:-1], min(int(rate_cap * seconds), MAX_PRESIGNED))
        work = _per_client(load, senders - 1, clients, batch)
        probe = _sign_load(g, devices[-1:], PROBES)
        procs += [NodeProc(roots[0], 0, [], dev=True)] if nodes == 1 else cluster(roots)
        for p in procs:
            p.start()
        for p in procs:
            try:
                p.wait_ready(60)
            except (RuntimeError, NodeUnavailable) as exc:
                raise UserError(f"a node did not start: {exc}") from None
        if nodes > 1:
            _wait_height(procs, 1, 60)
        committed, rejected, elapsed, lat = asyncio.run(
            _drive([p.root / "node.sock" for p in procs], work, seconds))
        idle = _probe(procs, probe, 0.3) if nodes > 1 else []
        heights, agree = _agreement(procs)
        codes = stop_all(procs)
    out = {
        "nodes": nodes,
        "tx_per_s": round(committed / elapsed, 1),
        "commit_ms_p50": _pct(lat, 0.50),
        "commit_ms_p95": _pct(lat, 0.95),
        # consortium only (the dev chain commits at once): single transactions after the load
        "unloaded_commit_ms_p50": _pct(idle, 0.50) if idle else None,
        "unloaded_commit_ms_p95": _pct(idle, 0.95) if idle else None,
        "heights": heights,
        "height": min(heights),
        "app_hash_agree": agree,
        "committed": committed,
        "rejected": rejected,
        "seconds": round(elapsed, 2),
        "offered": len(load),
        "senders": senders,
        "batch": batch,
        "clients": clients,
        "node_exit_code": next((c for c in codes if c), 0),
        "data_dir": None if data_dir is None else str(base),
    }
    print_fields(out, as_json, 14)


def _wait_height(procs: list[NodeProc], height: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while min(p.status()["height"] for p in procs) < height:
        if time.monotonic() > deadline:
            raise UserError(f"the nodes did not reach height {height} within {timeout:.0f} s")
        time.sleep(0.1)


def _agreement(procs: list[NodeProc]) -> tuple[list[int], bool]:
    """Heights of all nodes, and whether they hold the same block (app_hash) at the lowest one
    after letting the others catch up for a moment."""
    deadline = time.monotonic() + 10
    while True:
        heights = [p.status()["height"] for p in procs]
        if len(set(heights)) == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    h = min(heights)
    if h == 0:
        return heights, True
    hashes = {p.client.block(h)["header"]["app_hash"] for p in procs}  # type: ignore[union-attr]
    return heights, len(hashes) == 1
