"""`bcmlp node`: run a consortium validator or full node (or, with --dev, the single-validator
dev chain) with its control socket."""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from app.commands.common import data_dir_option, db_help
from app.errors import UserError
from app.logs import setup_logging
from app.paths import open_data_dir
from app.services.genesis import dev_genesis
from app.services.ledger import ledger_engine
from app.services.node_key import load_node_key, node_key_path
from bedrock.atomic import write_bytes_atomic
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain import genesis as gen
from ledger_core.chain.replica import Chain
from ledger_core.chain.store import LedgerStore
from ledger_core.consensus import SignerStateError, TimeoutConfig
from ledger_core.crypto.keys import read_private_key
from ledger_core.net.address import parse_address
from ledger_core.node.ledger_node import HEARTBEAT_S, Node


def _address(text: str, what: str) -> tuple[str, int]:
    try:
        return parse_address(text)
    except ValueError as exc:
        raise UserError(f"{what} {text!r}: {exc}") from None


@click.command("node")
@click.option("--dev", is_flag=True, help="Single-validator dev chain (this node is the only validator).")
@click.option("--db", "db_url", default=None, help=db_help)
@click.option("--heartbeat", default=None, type=click.FloatRange(0.05, 3600),
              help=f"Seconds without transactions before an empty heartbeat block "
                   f"(default {HEARTBEAT_S} with --dev, 1 otherwise).")
@click.option("--listen", default="0.0.0.0:26656", show_default=True, metavar="HOST:PORT",
              help="Peer-network address (port 0: any free port, written to <data-dir>/p2p.addr).")
@click.option("--peer", "peers", multiple=True, metavar="HOST:PORT", help="Static peer (repeatable).")
@click.option("--no-discovery", is_flag=True, help="Do not use zeroconf discovery on the LAN.")
@click.option("--discovery-interface", "interfaces", multiple=True, metavar="IP",
              help="Interface address for zeroconf (repeatable; default: all).")
@click.option("--propose-timeout", default=3.0, show_default=True, type=click.FloatRange(0.05, 600),
              help="Seconds a validator waits for the round's proposal (grows per round).")
@data_dir_option
def node_cmd(dev, db_url, heartbeat, listen, peers, no_discovery, interfaces, propose_timeout, data_dir) -> None:
    """Run a ledger node serving <data-dir>/node.sock until SIGTERM or Ctrl-C.

    Without --dev: a node of the chain in <data-dir>/genesis.json, with the node key
    keys/node.pem. A validator of the current set votes; any other registered node key runs a
    full node (syncs, verifies, relays). Peers are --peer addresses and, unless
    --no-discovery, nodes of the same chain found over zeroconf (_bcmlp._tcp.local.).

    With --dev and no genesis.json yet, creates one from the local identity (`bcmlp init`):
    its organisation holds every role and this node's key (keys/node.pem) is the only validator.
    """
    dd = open_data_dir(data_dir)
    setup_logging(dd)
    if dev:
        signer = load_node_key(dd.root, create=True)
        if dd.genesis_file.exists():
            genesis = gen.load(dd.genesis_file)
        else:
            genesis = dev_genesis(dd, signer)
            write_bytes_atomic(dd.genesis_file, gen.dumps(genesis), mode=0o644)
        if genesis.validators != [signer.key_id]:
            raise UserError("--dev needs a genesis whose only validator is this node's key (keys/node.pem)")
    else:
        if not dd.genesis_file.exists():
            raise UserError(f"no genesis at {dd.genesis_file}: create one with `bcmlp genesis create` "
                            "(or run the dev chain with --dev)")
        genesis = gen.load(dd.genesis_file)
        if not node_key_path(dd.root).exists():
            raise UserError(f"no node key at {node_key_path(dd.root)}: `bcmlp genesis create --validator` "
                            "creates it, or register one as a node participant")
        signer = load_node_key(dd.root, create=False)
        listen_at = _address(listen, "--listen")
        static = [_address(p, "--peer") for p in peers]
    chain = Chain(LedgerStore(ledger_engine(dd, db_url)), genesis, rules=LEDGER_RULES)
    hb = heartbeat if heartbeat is not None else (HEARTBEAT_S if dev else 1.0)
    node = Node(chain, signer, dd.node_socket, dd.root / "node.lock", heartbeat_s=hb)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(logging.Formatter("bcmlp node: %(message)s"))
    for name in ("bcmlp.node", "bcmlp.consensus"):
        logging.getLogger(name).addHandler(stream)
    producer = None
    if not dev:
        me = chain.state.tables["participant"].get(signer.key_id)
        if me is None or me["kind"] != "node" or me["status"] != "active":
            chain.store.engine.dispose()
            raise UserError(f"the node key {signer.key_id[:16]} is not an active node of chain "
                            f"{genesis.chain_id[:16]}: peers would refuse it")
        from ledger_core.node.network_producer import ConsensusProducer

        keys = read_private_key(node_key_path(dd.root), None)
        discovery = None
        if not no_discovery:
            discovery = _discovery_factory(genesis.chain_id, keys.key_id, chain, list(interfaces))
        ms = int(propose_timeout * 1000)
        try:
            producer = ConsensusProducer(
                node, keys, dd.root, listen=listen_at, peers=static, discovery=discovery,
                timeouts=TimeoutConfig(propose_ms=ms, propose_delta_ms=max(1, ms // 6),
                                       prevote_ms=max(1, ms // 3), prevote_delta_ms=max(1, ms // 6),
                                       precommit_ms=max(1, ms // 3), precommit_delta_ms=max(1, ms // 6)),
                heartbeat_s=hb,
            )
        except SignerStateError as exc:
            raise UserError(f"signer state: {exc}") from None
    try:
        asyncio.run(node.run(producer))
    except OSError as exc:  # e.g. the --listen port is in use
        raise UserError(f"cannot run the node: {exc}") from None
    finally:
        chain.store.engine.dispose()


def _discovery_factory(chain_id, key_id, chain, interfaces):
    from ledger_core.net.discovery import Discovery

    def make(port, on_found, on_removed):
        kwargs = {"interfaces": interfaces} if interfaces else {}
        return Discovery(chain_id, key_id, port, height=chain.height, on_found=on_found,
                         on_removed=on_removed, **kwargs)

    return make
