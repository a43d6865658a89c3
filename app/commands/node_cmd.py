"""`bcmlp node --dev`: run the single-validator development chain with its control socket."""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from app.atomic import write_bytes_atomic
from app.commands.common import data_dir_option
from app.commands.ledger_common import (
    db_help,
    dev_genesis,
    ledger_engine,
    load_genesis,
    load_node_key,
)
from app.errors import UserError
from app.logs import setup_logging
from app.paths import open_data_dir
from ledger_core import genesis as gen
from ledger_core.chain import Chain
from ledger_core.node import HEARTBEAT_S, Node, NodeError
from ledger_core.store import LedgerStore, StoreError


@click.command("node")
@click.option("--dev", is_flag=True, help="Single-validator dev chain (this node is the only validator).")
@click.option("--db", "db_url", default=None, help=db_help)
@click.option("--heartbeat", default=HEARTBEAT_S, show_default=True, type=click.FloatRange(0.05, 3600),
              help="Seconds without transactions before an empty heartbeat block.")
@data_dir_option
def node_cmd(dev, db_url, heartbeat, data_dir) -> None:
    """Run a ledger node serving <data-dir>/node.sock until SIGTERM or Ctrl-C.

    With --dev and no genesis.json yet, creates one from the local identity (`bcmlp init`):
    its organisation holds every role and this node's key (keys/node.pem) is the only validator.
    """
    if not dev:
        raise UserError("only the single-validator dev chain is available: run `bcmlp node --dev`")
    dd = open_data_dir(data_dir)
    setup_logging(dd)
    signer = load_node_key(dd.root, create=True)
    if dd.genesis_file.exists():
        genesis = load_genesis(dd.genesis_file)
    else:
        genesis = dev_genesis(dd, signer)
        write_bytes_atomic(dd.genesis_file, gen.dumps(genesis), mode=0o644)
    if genesis.validators != [signer.key_id]:
        raise UserError("--dev needs a genesis whose only validator is this node's key (keys/node.pem)")
    try:
        chain = Chain(LedgerStore(ledger_engine(dd, db_url)), genesis)
    except StoreError as exc:
        raise UserError(str(exc)) from None
    node = Node(chain, signer, dd.node_socket, dd.root / "node.lock", heartbeat_s=heartbeat)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(logging.Formatter("bcmlp node: %(message)s"))
    logging.getLogger("bcmlp.node").addHandler(stream)
    try:
        asyncio.run(node.run())
    except NodeError as exc:
        raise UserError(str(exc)) from None
    finally:
        chain.store.engine.dispose()
