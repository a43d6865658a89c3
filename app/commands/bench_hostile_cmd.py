"""`bcmlp bench hostile`: 4 validators on loopback, the 4th a hostile process (`app.hostile`)
with a valid registered node key, one scenario at a time, under a light steady load of valid
transactions sent to the 3 honest `bcmlp node` processes.

First two reference runs: "without_hostile" (the 4th validator not running: the honest nodes'
rate without the hostile node, the reference of `commit_rate_ratio`; a silent or banned
validator costs its proposer turns) and "all_honest" (the 4th validator an honest node), then
every scenario in a fresh
consortium of its own (bans and chains do not carry over). Each run is measured the same way
from the moment all four processes answer: the honest nodes' lowest height gained, their RSS,
whether they are still running, and when their status first lists the hostile key in "bans".
`fresh_sync` runs `oversized_block` while worst-case-size ratings are submitted, then starts a
fifth node (a full node, empty database) and times how long it takes to sync that chain.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import click

from app.commands.bench_ledger_cmd import _sign_load
from app.commands.cluster_procs import NodeProc, bench_folder, stop_all
from app.errors import UserError
from app.hostile import cluster as hc
from app.hostile.scenarios import SCENARIOS
from ledger_core.node.client import NodeClient, NodeUnavailable

TIMERS = ["--heartbeat", "0.3", "--propose-timeout", "1"]
FRESH_SYNC = "fresh_sync"
ALL = (*sorted(n for n in SCENARIOS if n != "honest"), FRESH_SYNC)
POLL_S = 0.5
LOAD_PER_S = 20
WORST_TXS = 3000  # worst-case-size ratings submitted in fresh_sync (about one full block)


class Load(threading.Thread):
    """Valid monitor reports, `per_s` a second, each honest node getting its own senders'."""

    def __init__(self, c: hc.HostileCluster, seconds: float, per_s: int = LOAD_PER_S) -> None:
        super().__init__(daemon=True)
        self.nodes = c.honest
        self.envs = _sign_load(c.genesis, c.devices[:len(c.honest)], int(per_s * seconds) + 1)
        self.per_s = per_s
        self.stopping = threading.Event()
        self.sent = 0

    def run(self) -> None:
        clients = [NodeClient(p.root / "node.sock", timeout=5) for p in self.nodes]
        try:
            for n, env in enumerate(self.envs):
                if self.stopping.wait(1 / self.per_s):
                    return
                try:
                    clients[n % len(clients)].request("submit", tx=env, wait=False)
                    self.sent += 1
                except (NodeUnavailable, OSError):
                    pass
        finally:
            for cl in clients:
                cl.close()


def _observe(c: hc.HostileCluster, seconds: float, by_key: bool, say) -> dict[str, Any]:
    """Poll the honest nodes for `seconds` (see module docstring)."""
    load = Load(c, seconds)
    start = min(c.heights())
    t0 = time.monotonic()
    load.start()
    rss: list[float] = []
    ban_s = None
    banned_by: set[int] = set()
    next_say = t0 + 5
    while (now := time.monotonic()) - t0 < seconds:
        rss += [r for p in c.honest if (r := hc.rss_mb(p)) is not None]
        if by_key:
            for i, p in enumerate(c.honest):
                if any(b.get("key_id") == c.hostile_key for b in hc.bans_of(p)):
                    banned_by.add(i)
                    ban_s = round(now - t0, 1) if ban_s is None else ban_s
        if now >= next_say:
            say(f"  {now - t0:4.0f} s  heights {c.heights()}  banned by {len(banned_by)}")
            next_say += 5
        time.sleep(POLL_S)
    load.stopping.set()
    load.join(10)
    elapsed = time.monotonic() - t0
    alive = [p for p in c.honest if p.running]
    gained = max(0, min(hc.height(p) for p in alive) - start) if alive else 0
    return {
        "honest_alive": len(alive),
        "blocks_committed": gained,
        "rate": gained / elapsed,
        "hostile_banned": (len(banned_by) == len(c.honest)) if by_key else None,
        "ban_s": ban_s,
        "rss_mb_max": round(max(rss), 1) if rss else None,
        "txs_offered": load.sent,
    }


def _fresh_sync(c: hc.HostileCluster, timeout: float, say) -> dict[str, Any]:
    fresh: NodeProc = c.extra[0]
    target = max(c.heights())
    block_h, size = hc.largest_sync_message(c.honest[0].root)
    say(f"  fresh node syncs to {target} (largest block {block_h}: {size} bytes of sync message)")
    t0 = time.monotonic()
    fresh.start()
    fresh.wait_ready(60)
    synced = hc.wait_until(lambda: hc.height(fresh) >= target, timeout)
    return {"fresh_synced": synced, "fresh_sync_s": round(time.monotonic() - t0, 1),
            "fresh_height": hc.height(fresh), "sync_target": target,
            "largest_block_height": block_h, "largest_sync_message_bytes": size}


def _clear(folder: Path) -> None:
    """Remove an earlier run's nodes from `folder` (only benchmark node directories)."""
    if not folder.exists():
        return
    for child in folder.iterdir():
        if not (child.name.startswith("node-") and (child / "genesis.json").exists()):
            raise UserError(f"{folder} holds {child.name}, not only benchmark node directories")
    shutil.rmtree(folder)


def _run(base: Path, scenario: str | None, seconds: float, seed: int, say,
         fourth: bool = True) -> dict[str, Any]:
    _clear(base)
    fresh = scenario == FRESH_SYNC
    hostile = "oversized_block" if fresh else scenario
    c = hc.make(base, hostile, seed, senders=4, extra_args=TIMERS, full_nodes=1 if fresh else 0)
    try:
        c.start(fourth=fourth)
        if fresh:
            hc.worst_ratings(c, WORST_TXS)
        by_key = hostile is None or SCENARIOS[hostile].by_key
        out = _observe(c, seconds, by_key, say)
        if fresh:
            out.update(_fresh_sync(c, max(60.0, 3 * seconds), say))
        return out
    except (RuntimeError, NodeUnavailable) as exc:
        raise UserError(f"a node did not start: {exc}") from None
    finally:
        stop_all(c.procs)


def _line(rec: dict[str, Any], as_json: bool) -> str:
    if as_json:
        return json.dumps(rec, sort_keys=True)
    return "  ".join(f"{k}={v}" for k, v in rec.items())


@click.command("hostile")
@click.option("--scenario", "scenarios", multiple=True, type=click.Choice(ALL),
              help="Scenario to run (repeatable; default: all).")
@click.option("--seconds", default=20.0, show_default=True, type=click.FloatRange(3, 3600),
              help="Measured seconds per run (the reference runs too).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the hostile node.")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Keep each run's nodes in <data-dir>/<scenario>/node-N (default: temporary).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per line (JSON lines) instead of key=value lines.")
def bench_hostile_cmd(scenarios, seconds, seed, data_dir, as_json) -> None:
    """A hostile 4th validator, one scenario per run: {"scenario", "honest_alive", ...}.

    One line per run on stdout, the references first (scenarios "all_honest" and
    "without_hostile"), each {"scenario", "honest_alive", "blocks_committed",
    "commit_rate_ratio", "hostile_banned", "ban_s", "rss_mb_max", "rss_idle_mb", ...}; --json
    makes each line a JSON object (JSON lines). honest_alive: honest processes still running
    (of 3); blocks_committed: their lowest height gained during the run; commit_rate_ratio:
    that rate over the rate without the hostile node (the 4th validator not running);
    commit_rate_vs_all_honest: over the rate with an honest 4th validator;
    hostile_banned: every honest node listed the hostile key in "bans" (null where the
    scenario cannot be told by key: preauth_flood); ban_s: seconds to the first ban seen;
    rss_mb_max / rss_idle_mb: the honest processes' largest RSS in the run / in all_honest.
    fresh_sync adds fresh_synced, fresh_sync_s and largest_sync_message_bytes. Targets:
    honest_alive 3, commit_rate_ratio >= 0.5, rss_mb_max < 2 x rss_idle_mb, ban_s <= 10.
    Progress goes to stderr."""

    def say(text: str) -> None:
        click.echo(text, err=True)

    runs = list(scenarios) or list(ALL)
    with bench_folder(data_dir, 0, "bcmlp-bench-hostile-") as (base, _procs):
        say(f"all_honest: 4 honest validators, {seconds:.0f} s")
        baseline = _run(base / "all_honest", None, seconds, seed, say)
        say(f"without_hostile: 3 honest validators, the 4th not running, {seconds:.0f} s")
        absent = _run(base / "without_hostile", None, seconds, seed, say, fourth=False)
        refs = (baseline["rate"], absent["rate"], baseline["rss_mb_max"])
        for name, rec in (("all_honest", baseline), ("without_hostile", absent)):
            click.echo(_line({"scenario": name, **_public(rec, *refs)}, as_json))
        for name in runs:
            say(f"{name}: 3 honest validators + the hostile one, {seconds:.0f} s")
            rec = _run(base / name, name, seconds, seed, say)
            click.echo(_line({"scenario": name, **_public(rec, *refs)}, as_json))


def _public(rec: dict[str, Any], honest_rate: float, absent_rate: float,
            idle: float | None) -> dict[str, Any]:
    rec = dict(rec)
    rate = rec.pop("rate")
    return {**rec, "commit_rate_ratio": round(rate / absent_rate, 2) if absent_rate else None,
            "commit_rate_vs_all_honest": round(rate / honest_rate, 2) if honest_rate else None,
            "rss_idle_mb": idle}
