"""`bcmlp bench ...`: benchmarks that print JSON. Each area adds its sub-command here."""

from __future__ import annotations

import click


@click.group("bench")
def bench_cmd() -> None:
    """Benchmarks (ledger, inspection, sync); each prints JSON."""


from app.commands.bench_inspection_cmd import bench_inspection_cmd  # noqa: E402
from app.commands.bench_ledger_cmd import bench_ledger_cmd  # noqa: E402

bench_cmd.add_command(bench_inspection_cmd)
bench_cmd.add_command(bench_ledger_cmd)
