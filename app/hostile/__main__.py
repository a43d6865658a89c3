"""`python -m app.hostile --scenario S [--seed N] [--duration S] --data-dir D --listen HOST:PORT
--peer HOST:PORT ... [other `bcmlp node` options]`: run the node of <data-dir> (its registered
node key, its genesis) exactly as `bcmlp node` does, misbehaving as scenario S says. Without
--duration it runs until SIGTERM. Discovery is off unless --discovery is given."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from app.hostile.hooks import producer_class
from app.hostile.scenarios import SCENARIOS


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    ap = argparse.ArgumentParser(prog="python -m app.hostile", description=__doc__)
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    ap.add_argument("--seed", type=int, default=0, help="seed of the hostile choices")
    ap.add_argument("--duration", type=float, default=None, help="seconds, then stop")
    ap.add_argument("--discovery", action="store_true", help="keep zeroconf discovery on")
    return ap.parse_known_args(argv)


def main(argv: list[str] | None = None) -> int:
    args, node_args = parse(sys.argv[1:] if argv is None else argv)
    from app.commands import node_cmd
    from ledger_core.node import network_producer

    scenario = SCENARIOS[args.scenario](args.seed)
    # node_cmd imports ConsensusProducer from this module when it builds the node
    network_producer.ConsensusProducer = producer_class(scenario)  # type: ignore[misc]
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(logging.Formatter("hostile: %(message)s"))
    logging.getLogger("bcmlp.hostile").addHandler(stream)
    logging.getLogger("bcmlp.hostile").setLevel(logging.INFO)
    if args.duration is not None:
        timer = threading.Timer(args.duration, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()
    extra = [] if args.discovery else ["--no-discovery"]
    return node_cmd.node_cmd.main(args=[*node_args, *extra], prog_name="hostile",
                                  standalone_mode=True) or 0


if __name__ == "__main__":
    sys.exit(main())
