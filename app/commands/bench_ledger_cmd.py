"""`bcmlp bench ledger`: a real dev-chain node process under a load of signed transactions.

tx_per_s: transactions committed per second from the first submission to the last commit.
commit_ms_p50/p95: per transaction, from sending its batch to the node's answer that it is
committed. The node directory (genesis.json, ledger.sqlite, keys/, node.log) stays at
<data-dir>/node-1/ when --data-dir is given.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from app.atomic import write_bytes_atomic
from app.commands.common import emit_json, json_option
from app.commands.ledger_common import load_node_key
from app.errors import UserError
from ledger_core import genesis as gen
from ledger_core import tx as txm
from ledger_core.client import NodeClient, NodeUnavailable
from ledger_core.signing import Signer
from ledger_core.wire import encode_frame, read_frame

MAX_PRESIGNED = 300_000  # bounds memory and set-up time; a longer run ends when the load is used up


def _setup(root: Path, senders: int) -> tuple[gen.Genesis, list[Signer]]:
    (root / "keys").mkdir(parents=True, mode=0o700)
    node = load_node_key(root, create=True)
    seed = os.urandom(16)
    devices = [Signer(hashlib.sha256(seed + i.to_bytes(4, "big")).digest()) for i in range(senders)]
    parts = [gen.participant_entry(node.public_raw, "bench", "bench node", "node", ["validator"])] + [
        gen.participant_entry(d.public_raw, "bench", f"sensor-{i}", "device", ["monitor"])
        for i, d in enumerate(devices)
    ]
    g = gen.make("bench", time.time_ns() // 1_000_000,
                 [{"id": "bench", "name": "Benchmark", "roles": ["monitor", "validator"]}],
                 parts, [node.key_id])
    write_bytes_atomic(root / "genesis.json", gen.dumps(g), mode=0o644)
    return g, devices


def _sign_load(g: gen.Genesis, devices: list[Signer], count: int) -> list[dict]:
    now = time.time_ns() // 1_000_000
    out = []
    for n in range(count):
        d = devices[n % len(devices)]
        payload = {"component": "conveyor", "status": "ok", "metrics": {"seq": n, "temp_mc": 21500},
                   "about": None}
        out.append(txm.make(d, g.chain_id, "monitor.report", n // len(devices) + 1, payload, now).envelope())
    return out


async def _drive(sock: Path, batches: list[list[dict]], seconds: float, clients: int):
    latencies: list[float] = []
    committed = rejected = 0
    it = iter(batches)
    start = time.perf_counter()
    deadline = start + seconds

    async def client() -> None:
        nonlocal committed, rejected
        reader, writer = await asyncio.open_unix_connection(str(sock), limit=2**24)
        try:
            for batch in it:
                if time.perf_counter() > deadline:
                    break
                t0 = time.perf_counter()
                writer.write(encode_frame({"op": "submit_batch", "txs": batch, "wait": True}))
                await writer.drain()
                answer = await read_frame(reader)
                ms = (time.perf_counter() - t0) * 1000
                ok = sum(1 for r in answer["results"] if r["ok"])
                committed += ok
                rejected += len(batch) - ok
                latencies.extend([ms] * ok)
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return committed, rejected, time.perf_counter() - start, latencies


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 1)


@click.command("ledger")
@click.option("--nodes", default=1, show_default=True, type=click.IntRange(1, 1),
              help="Number of nodes (the dev chain has one validator).")
@click.option("--seconds", default=10.0, show_default=True, type=click.FloatRange(1, 3600))
@click.option("--senders", default=64, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--batch", default=250, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--clients", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--rate-cap", default=8000, show_default=True, type=click.IntRange(100, 10**6),
              help="Transactions pre-signed per second of the run (the most the load can offer).")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Keep the node directory as <data-dir>/node-1/ (default: a temporary one).")
@json_option
def bench_ledger_cmd(nodes, seconds, senders, batch, clients, rate_cap, data_dir, as_json) -> None:
    """Dev-chain throughput: {"nodes", "tx_per_s", "commit_ms_p50", "commit_ms_p95", "height", ...}."""
    tmp = None
    if data_dir is None:
        tmp = tempfile.mkdtemp(prefix="bcmlp-bench-")
        data_dir = Path(tmp)
    root = Path(data_dir).resolve() / "node-1"
    if root.exists():
        if not (root / "genesis.json").exists() and any(root.iterdir()):
            raise UserError(f"{root} exists and is not a benchmark node directory")
        shutil.rmtree(root)
    proc = None
    try:
        g, devices = _setup(root, senders)
        load = _sign_load(g, devices, min(int(rate_cap * seconds), MAX_PRESIGNED))
        batches = [load[i:i + batch] for i in range(0, len(load), batch)]
        log = open(root / "node.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "node", "--dev", "--data-dir", str(root)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
        sock = root / "node.sock"
        client = NodeClient(sock, timeout=10)
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise UserError(f"the node exited with code {proc.returncode}; see {root / 'node.log'}")
            try:
                client.status()
                break
            except NodeUnavailable:
                if time.monotonic() > deadline:
                    raise UserError("the node did not start within 60 s") from None
                time.sleep(0.1)
        committed, rejected, elapsed, lat = asyncio.run(_drive(sock, batches, seconds, clients))
        status = client.status()
        client.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    out = {
        "nodes": nodes,
        "tx_per_s": round(committed / elapsed, 1),
        "commit_ms_p50": _pct(lat, 0.50),
        "commit_ms_p95": _pct(lat, 0.95),
        "height": status["height"],
        "committed": committed,
        "rejected": rejected,
        "seconds": round(elapsed, 2),
        "offered": sum(len(b) for b in batches),
        "senders": senders,
        "batch": batch,
        "clients": clients,
        "node_exit_code": proc.returncode,
        "data_dir": None if tmp else str(root),
    }
    if as_json:
        emit_json(out)
    else:
        for k, v in out.items():
            click.echo(f"{k:>14}: {v}")
