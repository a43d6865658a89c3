"""`bcmlp chain verify`: re-verify the whole stored chain from the genesis file alone."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.commands.common import data_dir_option, db_help, emit_json, json_option
from app.errors import CheckFailed, UserError
from app.paths import open_data_dir
from app.services.ledger import ledger_engine
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain import genesis as gen
from ledger_core.chain.store import LedgerStore
from ledger_core.chain.verify import verify_chain


@click.group("chain")
def chain_cmd() -> None:
    """Inspect and verify the local copy of the chain."""


@chain_cmd.command("verify")
@click.option("--db", "db_url", default=None, help=db_help)
@click.option("--genesis", "genesis_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Genesis file to trust (default: <data-dir>/genesis.json).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes that check signatures ahead of the replay (1: all in line). "
                   "More pays off only where idle cores exist.")
@json_option
@data_dir_option
def verify_cmd(db_url, genesis_file, workers, as_json, data_dir) -> None:
    """Hashes, Merkle roots, every signature, commit quorums and a full state replay.

    Exit 1 with the height and reason of the first problem.
    """
    dd = open_data_dir(data_dir, create=False)
    genesis = gen.load(genesis_file or dd.genesis_file)
    engine = ledger_engine(dd, db_url, must_exist=True)
    try:
        store = LedgerStore(engine)
        if store.chain_id() is None:
            raise UserError("the ledger database holds no chain yet")
        if sys.stderr.isatty() and not as_json:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            with Progress("verifying", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                          transient=True) as bar:
                job = bar.add_task("blocks", total=store.height())
                report = verify_chain(genesis, store, lambda h, top: bar.update(job, completed=h, total=top),
                                      workers=workers, rules=LEDGER_RULES)
        else:
            report = verify_chain(genesis, store, workers=workers, rules=LEDGER_RULES)
    finally:
        engine.dispose()
    if as_json:
        emit_json(report.as_dict())
    elif report.ok:
        click.echo(f"chain ok: height {report.height}, {report.transactions} transactions, "
                   f"{report.tx_per_s:.0f} tx/s, app_hash {report.app_hash}")
    if not report.ok:
        raise CheckFailed(f"chain verify failed at height {report.height}: {report.code}: {report.reason}")
