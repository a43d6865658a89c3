"""Start and stop real `bcmlp node --dev` processes for tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ledger_core.chain import genesis as gen
from ledger_core.crypto.keys import KeyPair, write_private_key
from ledger_core.node.client import NodeClient, NodeUnavailable
from tests.support.ledger_world import Consortium

REPO = Path(__file__).resolve().parents[2]


def prepare(root: Path, c: Consortium, node_seed: bytes) -> None:
    """A data dir with the consortium's genesis and the node key (as `node --dev` expects)."""
    (root / "keys").mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private_key(root / "keys" / "node.pem", KeyPair.from_seed(node_seed), None)
    (root / "genesis.json").write_bytes(gen.dumps(c.genesis))


def start(root: Path, heartbeat: float = 0.2, timeout: float = 60) -> tuple[subprocess.Popen, NodeClient]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "node", "--dev", "--data-dir", str(root), "--heartbeat", str(heartbeat)],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    client = NodeClient(root / "node.sock", timeout=30)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"node exited {proc.returncode}: {proc.stdout.read().decode()}")
        try:
            client.status()
            return proc, client
        except NodeUnavailable:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


def stop(proc: subprocess.Popen, client: NodeClient | None = None, sig: int = signal.SIGTERM) -> int:
    if client is not None:
        client.close()
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=60)
    finally:
        if proc.stdout:
            proc.stdout.close()
