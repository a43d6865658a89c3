"""Run `bcmlp node` processes of one consortium on loopback (benchmarks and fault tests)."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.self_command import bcmlp_command
from ledger_core.node.client import NodeClient, NodeUnavailable

REPO = Path(__file__).resolve().parents[2]


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (held together while picking, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class NodeProc:
    """One node process: `root` data dir, p2p `port`, static `peers` (HOST:PORT texts)."""

    def __init__(
        self, root: Path, port: int, peers: list[str], extra: list[str] | None = None,
        dev: bool = False, discovery: list[str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.dev = dev
        self.discovery = discovery  # zeroconf interface addresses; None: --no-discovery
        self.port = port
        self.peers = peers
        self.extra = list(extra or [])
        self.proc: subprocess.Popen[bytes] | None = None
        self.client: NodeClient | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        args = [*bcmlp_command(), "node", "--data-dir", str(self.root), *self.extra]
        if self.dev:
            args.append("--dev")
        else:
            args += ["--listen", f"127.0.0.1:{self.port}"]
            if self.discovery is None:
                args.append("--no-discovery")
            for ip in self.discovery or ():
                args += ["--discovery-interface", ip]
        for p in self.peers:
            args += ["--peer", p]
        log = open(self.root / "node.out", "ab")  # noqa: SIM115 - the child holds it
        try:
            self.proc = subprocess.Popen(args, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        finally:
            log.close()
        self.client = NodeClient(self.root / "node.sock", timeout=30)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise RuntimeError(f"node {self.root.name} exited with {code}; see {self.root / 'node.out'}")
            try:
                self.status()
                return
            except NodeUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def status(self) -> dict[str, Any]:
        assert self.client is not None
        return self.client.status()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60, signal_it: bool = True) -> int | None:
        if self.client is not None:
            self.client.close()
        if self.proc is None:
            return None
        if signal_it and self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def cluster(roots: list[Path], extra: list[str] | None = None) -> list[NodeProc]:
    """Node processes (not started) for `roots`, each with every other as a static peer."""
    ports = free_ports(len(roots))
    return [
        NodeProc(r, ports[i], [f"127.0.0.1:{p}" for j, p in enumerate(ports) if j != i], extra)
        for i, r in enumerate(roots)
    ]


@contextlib.contextmanager
def bench_folder(data_dir: Path | None, nodes: int, prefix: str) -> Iterator[tuple[Path, list[NodeProc]]]:
    """A benchmark's folder for <base>/node-1 .. node-N, cleared of an earlier run (without
    `data_dir`: a temporary one, removed afterwards), and the list the run puts its node
    processes in: the ones still running at the end are stopped."""
    tmp = None
    if data_dir is None:
        tmp = tempfile.mkdtemp(prefix=prefix)
        data_dir = Path(tmp)
    base = Path(data_dir).resolve()
    procs: list[NodeProc] = []
    try:
        for i in range(nodes):
            root = base / f"node-{i + 1}"
            if root.exists():
                if not (root / "genesis.json").exists() and any(root.iterdir()):
                    raise UserError(f"{root} exists and is not a benchmark node directory")
                shutil.rmtree(root)
        yield base, procs
    finally:
        stop_all(procs)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def stop_all(nodes: list[NodeProc]) -> list[int | None]:
    """SIGTERM to every running node at once, then wait for each; the exit codes."""
    for n in nodes:
        if n.running:
            n.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    return [n.stop(signal_it=False) for n in nodes]
