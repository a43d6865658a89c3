"""`bcmlp reports [--component C] [--status S] [--json]`: the monitoring role's reports on the
ledger (`monitor.report`: component, status, metrics), newest first, for auditors."""

from __future__ import annotations

import click

from app.commands.common import data_dir_option, emit_json, json_option
from app.paths import open_data_dir
from app.services.queries import monitor_reports


@click.command("reports")
@click.option("--component", default=None, help="Only this component.")
@click.option("--status", type=click.Choice(["ok", "degraded", "failed"]), default=None, help="Only this status.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@json_option
@data_dir_option
def reports_cmd(component, status, limit, as_json, data_dir) -> None:
    """List monitoring reports recorded on the ledger."""
    rows = monitor_reports(open_data_dir(data_dir), component, status, limit)
    if as_json:
        return emit_json({"reports": rows})
    if not rows:
        click.echo("no monitoring reports")
    for r in rows:
        metrics = ", ".join(f"{k}={v}" for k, v in sorted(r["metrics"].items()))
        about = f" about {r['about'][:16]}" if r["about"] else ""
        click.echo(f"height {r['height']}: {r['component']} {r['status']}{about} ({r['org']}, {r['sender'][:16]})"
                   f" {metrics}")
