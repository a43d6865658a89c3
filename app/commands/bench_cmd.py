"""`bcmlp bench ...`: benchmarks that print JSON. Each area adds its sub-command here."""

from __future__ import annotations

import click


@click.group("bench")
def bench_cmd() -> None:
    """Benchmarks (ledger, inspection, sync); each prints JSON."""
