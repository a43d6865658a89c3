"""`bcmlp demo`: a local four-company consortium (DESIGN.md's use case) that plays the pipeline.

The operator (the company using ML), the trainer (model training company), the auditor (quality
control company) and the monitor (condition monitoring company) each get a sub-folder of the demo
folder with an identity (organisation, expert, encrypted key), a node key and one validator node:
a separate `bcmlp node` process on loopback, peers found over zeroconf restricted to 127.0.0.1.
Then the pipeline runs for real through each company's own node: certificates with lineage,
ratings, a monitor report, the operator station's trust gate, inspection of the bundled images
replayed as a looping camera and `inspection.batch` anchoring.

The identities' passphrases are generated and stored next to them (`<company>/passphrase`, mode
0600): that is for this demo only, never for a real deployment.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

import resources
from app.errors import UserError
from app.paths import DataDir, open_data_dir
from app.self_command import bcmlp_command
from ledger_core.attest.rules import LEDGER_RULES

SAMPLES = resources.path("samples", "images")
MODEL = resources.path("model", "neu.safetensors")
CARD = resources.path("model", "neu.card.json")
MARKER = "demo.json"
REPLAY_FPS = 8.0  # the looping "camera": the bundled images at this rate
ANCHOR_EVERY_S = 5.0
MAX_RESTARTS = 3  # a node that exits on its own is started again (from its data dir) this often
NODE_ARGS = ["--listen", "127.0.0.1:0", "--discovery-interface", "127.0.0.1",
             "--heartbeat", "1", "--propose-timeout", "1"]
# The genesis keeps the default trust parameters: newcomers start at the base rate 0.5, below the
# gate's threshold 0.6, so the model passes only once the companies rated each other's work.
GENESIS_PARAMS: list[str] = []


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


def default_root() -> Path:
    base = Path(platformdirs.user_data_dir("bcmlp", appauthor=False)) / "demo"
    return base / time.strftime("%Y%m%d-%H%M%S")


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
        from app.commands.ledger_common import load_node_key
        from app.identity import IdentityStore

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
        from app.commands.genesis_cmd import create_cmd
        from ledger_core.chain import genesis as gen

        op = self.members["operator"].dd
        dirs = tuple(m.dd.root for m in self.members.values())
        with contextlib.redirect_stdout(io.StringIO()):
            create_cmd.callback(members=dirs, validators=dirs, chain_name="bcmlp-demo",
                                params=tuple(GENESIS_PARAMS), out=None, force=False, as_json=True,
                                data_dir=op.root)
        data = op.genesis_file.read_bytes()
        for m in self.members.values():
            if m.dd.root != op.root:
                m.dd.genesis_file.write_bytes(data)
        g = gen.load(op.genesis_file)
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
                        _node_command(m.dd.root), cwd=Path(__file__).resolve().parents[1],
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


# the pipeline ---------------------------------------------------------------------------------
@dataclass
class PipelineIds:
    dataset: str
    pipeline: str
    labels: str
    model: str
    pipeline_file: Path
    ratings: list[str] = field(default_factory=list)
    report: str = ""


def _quiet(fn: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    """Run a CLI command's function: (what it printed on stdout, its last stderr line)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        fn(**kwargs)
    lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
    return out.getvalue().strip(), (lines[-1] if lines else "")


def _write_json(path: Path, obj: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    return path


def play_pipeline(cons: Consortium) -> PipelineIds:
    """Certificates, ratings and a monitor report, each through its company's own node."""
    from app.commands.cert_common import local_signer, submit
    from app.commands.certify_cmd import certify_cmd
    from app.commands.rate_cmd import rate_cmd
    from app.identity import IdentityStore

    m = cons.members
    card = json.loads(CARD.read_text())
    classes = list(card["classes"])

    def certify(who: str, kind: str, path: Path, parents: tuple[str, ...] = (), predicate: dict | None = None) -> str:
        mem = m[who]
        pred_file = None if predicate is None else _write_json(mem.dd.root / "demo" / f"{kind}.predicate.json", predicate)
        cid, said = _quiet(certify_cmd.callback, kind=kind, path=path, parents=parents, name=None, version="1",
                     predicate_file=pred_file, valid_days=None, passphrase_file=mem.passphrase_file,
                     data_dir=mem.dd.root)
        cons.wait_height(cons.heights()[who])
        cons.progress(f"{who}: {said or 'certified ' + kind}; certificate {cid[:16]}")
        return cid

    op_pipeline = _write_json(m["operator"].dd.root / "demo" / "preprocessing.json", card["preprocessing"])
    ds = certify("operator", "dataset", SAMPLES,
                 predicate={"source_device": "bundled NEU-DET samples (replayed camera)"})
    pl = certify("operator", "pipeline", op_pipeline)
    n_images = sum(1 for f in SAMPLES.rglob("*.jpg"))
    lb = certify("auditor", "labels", SAMPLES, parents=(ds,),
                 predicate={"classes": classes, "count": n_images, "method": "class folders, checked by QC"})
    md = certify("trainer", "model", MODEL, parents=(ds, lb, pl))
    ids = PipelineIds(ds, pl, lb, md, op_pipeline)
    key = {k: IdentityStore(mem.dd).load().key_id for k, mem in m.items()}
    # (rater, subject, score, evidence, what): QC reviews the model and its trainer; the trainer
    # rates the inputs it trained with and the companies that certified them
    ratings = (
        ("auditor", md, 90, md, "the model"), ("auditor", key["trainer"], 85, md, "the trainer"),
        ("trainer", ds, 90, ds, "the dataset"), ("trainer", lb, 90, lb, "the labels"),
        ("trainer", pl, 90, pl, "the pipeline"), ("trainer", key["operator"], 85, ds, "the operator"),
        ("trainer", key["auditor"], 85, lb, "quality control"),
    )
    for rater, subject, score, evidence, what in ratings:
        mem = m[rater]
        out, _ = _quiet(rate_cmd.callback, subject=subject, score=score, evidence=evidence,
                        comment=f"{rater} review of {what}", passphrase_file=mem.passphrase_file,
                        data_dir=mem.dd.root)
        ids.ratings.append(out.rsplit(" ", 1)[-1])
        cons.progress(f"{rater}: rated {what} {score}/100")
    cons.wait_height(max(cons.heights().values()))
    mon = m["monitor"]
    tx, ans = submit(mon.dd, local_signer(mon.dd, mon.passphrase_file), "monitor.report",
                     {"component": "camera-1", "status": "ok", "metrics": {"fps": int(REPLAY_FPS)}, "about": md})
    ids.report = tx.hash
    cons.wait_height(ans.get("height") or 0)
    cons.progress(f"monitor: reported camera-1 ok about model {md[:16]}")
    return ids


# the operator station ---------------------------------------------------------------------------
class Station:
    """The operator's station: trust gate at each new head, anchoring of inspection records, and
    (headless) inspection of the bundled images replayed as a looping camera."""

    def __init__(self, cons: Consortium, ids: PipelineIds, inspect: bool, t0: float) -> None:
        from app.station.model_gate import Candidate, GateService, ModelGate

        self.cons = cons
        self.ids = ids
        self.dd = cons.members["operator"].dd
        self.inspect = inspect
        self.t0 = t0
        cand = Candidate(ids.model, MODEL, ((ids.dataset, SAMPLES), (ids.pipeline, ids.pipeline_file)))
        self.gate = GateService(self.dd, ModelGate(cand))
        self.status: Any = None
        self.first_verdict_s: float | None = None
        self.inspected = 0
        self.batches: list[dict[str, Any]] = []
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-station", daemon=True)
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.status is not None and self.status.active is not None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def note_verdict(self) -> None:
        with self._lock:
            if self.first_verdict_s is None:
                self.first_verdict_s = time.monotonic() - self.t0
                self.cons.progress(f"operator: first verdict {self.first_verdict_s:.1f} s after the demo started")

    def _submitter(self):
        from app.commands.cert_common import local_signer, submit

        op = self.cons.members["operator"]
        signer = local_signer(self.dd, op.passphrase_file)

        def send(tx_type: str, payload: dict[str, Any]) -> tuple[str, int | None]:
            tx, ans = submit(self.dd, signer, tx_type, payload)
            return tx.hash, ans.get("height")

        return send

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # noqa: BLE001 - reported in the summary and on stderr
            self.error = f"{type(exc).__name__}: {exc}"
            self.cons.progress(f"station stopped: {self.error}")

    def _loop(self) -> None:
        from app.station import services as svc
        from app.station.anchoring import Anchorer, anchor_engine

        engine, records = anchor_engine(self.dd), svc.record_store(self.dd)
        anchorer = Anchorer(engine, records, self._submitter(), "demo-station-1",
                            every_s=ANCHOR_EVERY_S, max_records=200)
        inspector = src = None
        next_gate = 0.0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_gate:
                    st = self.gate.poll()
                    if st is not None:
                        if self.status is None or st.changed:
                            self.cons.progress(f"operator gate at height {st.height}: "
                                               f"{'PASS' if st.active else 'REFUSED'}: {st.message}")
                        self.status = st
                    next_gate = now + 1.0
                    try:
                        self.batches += anchorer.anchor()
                    except UserError as exc:  # e.g. the node is restarting: the records stay pending
                        self.cons.progress(f"anchoring deferred: {exc}")
                    if not self.inspect and self.first_verdict_s is None and records.count():
                        self.note_verdict()  # the Operator perspective stored its first record
                if self.inspect and self.active:
                    if inspector is None:
                        inspector, src = self._open_inspection(svc)
                    frame = src.read()
                    if frame is not None:
                        done = [r for r in inspector.inspect([frame]) if hasattr(r, "record")]
                        if done:
                            self.note_verdict()
                            self.inspected += len(done)
                else:
                    self._stop.wait(0.2)
            self.batches += anchorer.anchor(force=True)
        finally:
            if src is not None:
                src.close()
            engine.dispose()
            records.engine.dispose()
            if inspector is not None and inspector.records is not None:
                inspector.records.engine.dispose()

    def _open_inspection(self, svc):
        from inspection.sources import open_source

        inspector = make_inspector(self.dd, self.ids, svc.pick_order(svc.orders(), None))
        src = open_source(str(SAMPLES), rate=REPLAY_FPS, loop=True)
        src.open()
        self.cons.progress(f"operator: inspecting {SAMPLES.name} as a looping camera at {REPLAY_FPS:g} fps")
        return inspector, src


def make_inspector(dd: DataDir, ids: PipelineIds, order, engine=None):
    """An Inspector whose records name the gate-passing model and pipeline certificates."""
    from app.station import services as svc

    loaded = engine.loaded if engine is not None else svc.model(MODEL)
    insp = svc.inspector(dd, loaded, order, engine=engine)
    insp.model_cert_id, insp.pipeline_cert_id = ids.model, ids.pipeline
    return insp


# the summary ---------------------------------------------------------------------------------------
def summary(cons: Consortium, ids: PipelineIds | None, station: Station | None, duration: float) -> dict[str, Any]:
    """Read from each node's database after the nodes stopped."""
    from sqlalchemy import func, select

    from app.commands.cert_common import open_view
    from ledger_core.chain.store import tables as t

    nodes: dict[str, Any] = {}
    hashes: dict[str, str | None] = {}
    views = {k: open_view(m.dd) for k, m in cons.members.items()}
    try:
        for k, view in views.items():
            with view.store.engine.connect() as conn:
                n_tx = conn.execute(select(func.count()).select_from(t.txs)).scalar() or 0
            state = view.store.load_state(LEDGER_RULES)
            nodes[k] = {"height": state.height, "app_hash": state.app_hash, "transactions": n_tx,
                        "state": {name: len(list(view.live.keys(name))) for name in ("cert", "rating", "batch", "report")}}
        common = min(n["height"] for n in nodes.values())
        for k, view in views.items():
            blk = view.store.block(common)
            hashes[k] = None if blk is None else blk["header"]["app_hash"]
    finally:
        for view in views.values():
            view.close()
    op_state = nodes["operator"]["state"]
    out: dict[str, Any] = {
        "data_dir": str(cons.root),
        "duration_s": round(duration, 1),
        "nodes": {k: {**{kk: v for kk, v in n.items() if kk != "state"},
                      "restarts": cons.members[k].restarts} for k, n in nodes.items()},
        "common_height": common,
        "app_hash_at_common_height": hashes["operator"],
        "nodes_agree": len(set(hashes.values())) == 1 and None not in hashes.values(),
        "transactions": nodes["operator"]["transactions"],
        "certificates": op_state["cert"],
        "ratings": op_state["rating"],
        "monitor_reports": op_state["report"],
        "anchored_batches": op_state["batch"],
        "inspections": 0,
        "anchored_records": 0,
        "gate": None,
        "seconds_to_first_verdict": None,
        "pipeline": None,
    }
    if ids is not None:
        out["pipeline"] = {"dataset": ids.dataset, "pipeline": ids.pipeline, "labels": ids.labels,
                           "model": ids.model, "ratings": ids.ratings, "monitor_report": ids.report}
    if station is not None:
        from app.station import services as svc

        records = svc.record_store(cons.members["operator"].dd)
        try:
            out["inspections"] = records.count()
        finally:
            records.engine.dispose()
        out["anchored_records"] = sum(b["count"] for b in station.batches)
        st = station.status
        out["gate"] = None if st is None else {
            "passed": st.active is not None, "height": st.height, "message": st.message,
            "model": None if st.active is None else st.active.cert_id}
        fv = station.first_verdict_s
        out["seconds_to_first_verdict"] = None if fv is None else round(fv, 2)
        if station.error:
            out["station_error"] = station.error
    return out


class Demo:
    """One demo session: set-up, the running station, the stop and the summary."""

    def __init__(self, root: Path, progress: Progress, inspect: bool) -> None:
        self.t0 = time.monotonic()
        self.cons = Consortium(root, progress)
        self.progress = progress
        self.inspect = inspect
        self.ids: PipelineIds | None = None
        self.station: Station | None = None
        self.started_at: float | None = None

    def setup(self) -> None:
        check_loopback()
        self.cons.prepare()
        # torch, OpenCV and the model load while the nodes start (shorter time to the first verdict)
        self.cons.start(on_spawned=threading.Thread(target=_prewarm, name="demo-prewarm", daemon=True).start)
        self.ids = play_pipeline(self.cons)
        self.station = Station(self.cons, self.ids, self.inspect, self.t0)
        self.station.start()
        self.started_at = time.monotonic()

    def close(self) -> None:
        """Stop the station, then every node; idempotent."""
        if self.station is not None:
            self.station.stop()
        self.cons.stop()

    def summary(self) -> dict[str, Any]:
        ran = 0.0 if self.started_at is None else time.monotonic() - self.started_at
        out = summary(self.cons, self.ids, self.station, ran)
        out["seconds_total"] = round(time.monotonic() - self.t0, 1)
        return out


def _prewarm() -> None:
    with contextlib.suppress(Exception):  # the station reports any real problem itself
        from app.station import services as svc

        svc.model(MODEL)


def check_loopback() -> None:
    """Loopback must accept listening sockets (the nodes take any free port)."""
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
    except OSError as exc:
        raise DemoError(f"cannot listen on 127.0.0.1: {exc.strerror}") from None
