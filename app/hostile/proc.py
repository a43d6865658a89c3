"""The hostile node as a `cluster_procs.NodeProc`: same data dir, port, peers and control socket,
started as `python -m app.hostile --scenario S` instead of `bcmlp node`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.commands.cluster_procs import REPO, NodeProc
from app.errors import UserError
from ledger_core.node.client import NodeClient


class HostileProc(NodeProc):
    """`NodeProc` of the hostile process running `scenario` (seeded by `seed`)."""

    def __init__(self, node: NodeProc, scenario: str, seed: int = 0) -> None:
        super().__init__(node.root, node.port, node.peers, node.extra)
        self.scenario = scenario
        self.seed = seed

    def start(self) -> None:
        if getattr(sys, "frozen", False):
            raise UserError("the hostile node runs from a source checkout only")
        args = [sys.executable, "-m", "app.hostile", "--scenario", self.scenario,
                "--seed", str(self.seed), "--data-dir", str(self.root),
                "--listen", f"127.0.0.1:{self.port}", *self.extra]
        for p in self.peers:
            args += ["--peer", p]
        with open(Path(self.root) / "node.out", "ab") as log:
            self.proc = subprocess.Popen(args, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        self.client = NodeClient(self.root / "node.sock", timeout=30)
