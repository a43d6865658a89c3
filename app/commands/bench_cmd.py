"""`bcmlp bench ...`: benchmarks that print JSON. Each area adds its sub-command to LAZY."""

from __future__ import annotations

import click

from app.commands.lazy import LazyGroup

LAZY = {
    "hostile": "app.commands.bench_hostile_cmd:bench_hostile_cmd",
    "inspection": "app.commands.bench_inspection_cmd:bench_inspection_cmd",
    "ledger": "app.commands.bench_ledger_cmd:bench_ledger_cmd",
    "soak": "app.commands.bench_soak_cmd:bench_soak_cmd",
    "sync": "app.commands.bench_sync_cmd:bench_sync_cmd",
}


@click.group("bench", cls=LazyGroup, lazy=LAZY)
def bench_cmd() -> None:
    """Benchmarks (ledger, inspection, sync, soak); each prints JSON."""
