"""`bcmlp anchor`: put the Merkle roots of the inspection records not anchored yet on the ledger
(`inspection.batch`), keeping each record's inclusion proof for `bcmlp verify record`."""

from __future__ import annotations

import socket

import click

from app.commands.common import data_dir_option, emit_json, json_option
from app.commands.passphrase import identity_signer, passphrase_option
from app.paths import open_data_dir
from app.services.submit import sender
from app.station.anchoring import Anchorer, anchor_engine
from app.station.services import record_store


@click.command("anchor")
@click.option("--station", default=None, help="Station name on the ledger (default: this host's name).")
@click.option("--max-records", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Records per batch.")
@passphrase_option
@json_option
@data_dir_option
def anchor_cmd(station, max_records, passphrase_file, as_json, data_dir) -> None:
    """Anchor every pending inspection record now (signed by the local identity, an operator)."""
    dd = open_data_dir(data_dir)
    sign_as = identity_signer(dd, passphrase_file)
    send = sender(dd, sign_as())
    engine, records = anchor_engine(dd), record_store(dd)
    try:
        done = Anchorer(engine, records, send, (station or socket.gethostname())[:100],
                        max_records=max_records).anchor(force=True)
    finally:
        engine.dispose()
        records.engine.dispose()
    if as_json:
        return emit_json({"batches": done})
    if not done:
        click.echo("nothing to anchor")
    for b in done:
        click.echo(f"anchored {b['count']} records, root {b['root'][:16]}, tx {b['tx']} at height {b['height']}")
