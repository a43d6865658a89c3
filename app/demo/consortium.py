"""The demo's four companies: each one's folder (identity, passphrase, node key, genesis) and its
validator node, a separate `bcmlp node` process on loopback, kept running until the demo stops.

The identities' passphrases are generated and stored next to them (`<company>/passphrase`, mode
0600): that is for this demo only, never for a real deployment.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.paths import DataDir, open_data_dir
from app.self_command import bcmlp_command
from app.services.signing import SignerSource, passphrase_file_signer

MARKER = "demo.json"
MAX_RESTARTS = 3  # a node that exits on its own is started again (from its data dir) this often
NODE_ARGS = ["--listen", "127.0.0.1:0", "--discovery-interface", "127.0.0.1",
             "--heartbeat", "1", "--propose-timeout", "1"]
# The genesis keeps the default trust parameters: newcomers start at the base rate 0.5, below the
# gate's threshold 0.6, so the model passes only once the companies rated each other's work.
GENESIS_PARAMS: dict[str, int] = {}


@dataclass(frozen=True)
class Company:
    key: str  # sub-folder name
    org: str
    role: str
    expert: str


COMPANIES = (
    Company("operator", "Steel Works (ML user)", "operator", "Olivia Operator"),
    Company("trainer", "Model Training Co", "trainer", "Theo Trainer"),
    Company("auditor", "Quality Control Co", "auditor", "Quinn Auditor"),
    Company("monitor", "Condition Monitoring Co", "monitor", "Mona Monitor"),
)

Progress = Callable[[str], None]


class DemoError(UserError):
    """Something the demo needs cannot start (one line, exit 2)."""


def _node_command(root: Path) -> list[str]:
    return [*bcmlp_command(), "node", "--data-dir", str(root), *NODE_ARGS]


_prctl: Callable[..., int] | None = None


def _resolve_prctl() -> None:
    """Look prctl up in the parent: a dlopen between fork and exec can deadlock on a loader lock
    another thread held at the fork (the demo imports torch in a thread meanwhile)."""
    global _prctl
    if _prctl is None and sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            _prctl = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the demo process dies, even by SIGKILL (Linux)."""
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Member:
    company: Company
    dd: DataDir
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    @property
    def passphrase_file(self) -> Path:
        return self.dd.root / "passphrase"

    @property
    def signer(self) -> SignerSource:
        """The company expert's signer, for the services."""
        return passphrase_file_signer(self.dd, self.passphrase_file)

    def status(self) -> dict[str, Any]:
        from ledger_core.node.client import NodeClient

        with NodeClient(self.dd.node_socket, timeout=10) as cl:
            return cl.status()

    def last_log_line(self) -> str:
        try:
            lines = (self.dd.root / "node.out").read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""


class Consortium:
    """The four companies' folders and node processes under `root`."""

    def __init__(self, root: Path, progress: Progress) -> None:
        self.root = root
        self.progress = progress
        self.members: dict[str, Member] = {}
        _resolve_prctl()
        self.pgid = 0  # the process group new nodes join (0: a new one; all share one if they can)
        self._stopped = False

    # set-up -------------------------------------------------------------------------------
    def prepare(self) -> bool:
        """Identities, passphrases, node keys and the genesis; False when reusing a demo folder."""
        root = self.root.expanduser()
        reuse = (root / MARKER).is_file()
        if not reuse and root.is_dir() and any(root.iterdir()):
            raise DemoError(f"{root} is not empty and holds no demo: choose a new --data-dir")
        root = self.root = open_data_dir(root).root  # creates it (0700) and checks it is writable
        for c in COMPANIES:
            self.members[c.key] = Member(c, open_data_dir(root / c.key))
        if reuse:
            self.progress(f"reusing the demo consortium in {root}")
            return False
        from app.identity import IdentityStore
        from app.services.node_key import load_node_key

        for m in self.members.values():
            c = m.company
            passphrase = secrets.token_urlsafe(24)
            fd = os.open(m.passphrase_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(passphrase + "\n")
            IdentityStore(m.dd).create(c.org, c.expert, c.role, passphrase)
            load_node_key(m.dd.root, create=True)
            self.progress(f"{c.key}: identity of {c.expert} ({c.org}, {c.role}) and a node key")
        self._genesis()
        (root / MARKER).write_text(json.dumps({
            "demo": "bcmlp demo consortium",
            "warning": "demo only: the passphrases are stored next to the keys",
            "companies": {c.key: {"org": c.org, "role": c.role, "expert": c.expert} for c in COMPANIES},
        }, indent=2) + "\n")
        return True

    def _genesis(self) -> None:
        """Every company a founding member with a validator; one genesis file for all."""
        from app.services.genesis import create_genesis

        op = self.members["operator"].dd
        dds = [m.dd for m in self.members.values()]
        g = create_genesis(op.genesis_file, dds, dds, "bcmlp-demo", GENESIS_PARAMS)
        data = op.genesis_file.read_bytes()
        for m in self.members.values():
            if m.dd.root != op.root:
                m.dd.genesis_file.write_bytes(data)
        self.progress(f"genesis {g.chain_id[:16]}: 4 organisations, 4 experts, 4 validators")

    # processes ----------------------------------------------------------------------------
    def start(self, timeout: float = 90, on_spawned: Callable[[], None] | None = None) -> None:
        atexit.register(self.stop)
        for m in self.members.values():
            self._spawn(m)
        if on_spawned is not None:
            on_spawned()
        self.progress("started 4 validator nodes (bcmlp node, loopback, zeroconf on 127.0.0.1)")
        deadline = time.monotonic() + timeout
        pending = set(self.members)
        while pending:
            for key in sorted(pending):
                self.check_alive()
                try:
                    self.members[key].status()
                    pending.discard(key)
                except OSError:
                    pass
            if pending and time.monotonic() > deadline:
                raise DemoError(f"nodes {', '.join(sorted(pending))} did not open their control socket "
                                f"within {timeout:.0f} s (see {self.root}/<company>/node.out)")
            time.sleep(0.1)
        self.progress("control sockets up; waiting for the first committed block on every node")
        self.wait_height(1, timeout)

    def _spawn(self, m: Member) -> None:
        """Start m's node in the demo's process group (a new one if that group is gone)."""
        if m.dd.node_socket.exists():
            m.dd.node_socket.unlink()  # left by a killed node; a live one holds node.lock
        with open(m.dd.root / "node.out", "ab") as log:
            for pg in dict.fromkeys((self.pgid, 0)):
                try:
                    m.proc = subprocess.Popen(  # noqa: PLW1509 - preexec only sets the death signal
                        _node_command(m.dd.root), cwd=Path(__file__).resolve().parents[2],
                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                        process_group=pg, preexec_fn=_die_with_parent,
                    )
                    break
                except (OSError, subprocess.SubprocessError) as exc:
                    if pg == 0:
                        raise DemoError(f"cannot start node {m.company.key}: {exc}") from None
        with contextlib.suppress(ProcessLookupError):
            self.pgid = os.getpgid(m.proc.pid)

    def check_alive(self) -> None:
        """A node that exited on its own is restarted (MAX_RESTARTS times), then DemoError."""
        if self._stopped:
            return
        for m in self.members.values():
            if m.proc is None or m.proc.poll() is None:
                continue
            why = (f"node {m.company.key} exited with code {m.proc.returncode}: "
                   f"{m.last_log_line() or 'no output'} ({m.dd.root / 'node.out'})")
            if m.restarts >= MAX_RESTARTS:
                raise DemoError(why)
            m.restarts += 1
            self.progress(f"{why}; restarting it ({m.restarts}/{MAX_RESTARTS})")
            self._spawn(m)

    def heights(self) -> dict[str, int]:
        out = {}
        for k, m in self.members.items():
            try:
                out[k] = m.status()["height"]
            except OSError:
                out[k] = -1
        return out

    def wait_height(self, height: int, timeout: float = 60) -> None:
        """Until every node has committed `height` (a certificate is then visible to all)."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            hs = self.heights()
            if min(hs.values()) >= height:
                return
            if time.monotonic() > deadline:
                raise DemoError(f"the nodes did not reach height {height} within {timeout:.0f} s: {hs}")
            time.sleep(0.1)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to every node (they commit nothing half-way), SIGKILL after `timeout`."""
        if self._stopped:
            return
        self._stopped = True
        procs = [m.proc for m in self.members.values() if m.proc is not None]
        for p in procs:
            if p.poll() is None:  # not reaped yet, so its group id cannot have been reused
                try:
                    os.killpg(os.getpgid(p.pid), signal.SIGTERM)  # the node and anything it started
                except (ProcessLookupError, PermissionError):
                    with contextlib.suppress(ProcessLookupError):
                        p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
