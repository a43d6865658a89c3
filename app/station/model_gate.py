"""The operator station's trust gate (docs/design.md section 6), its I/O: hashing the model files,
reading the ledger head, polling. The decision is `ledger_core.attest.model_choice`'s.

`ModelGate.on_state(...)` is called with the ledger state of each new head and judges the model
with the digests of the files on disk. `GateService` watches the local ledger database and calls
it whenever the head moves, so a revocation or a trust drop takes a model out of service at the
next block; `StationGate` does the same for a station that knows its weights only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from app.paths import DataDir
from ledger_core.attest.gate import Get, Keys
from ledger_core.attest.manifest import ManifestError, build_manifest
from ledger_core.attest.model_choice import Candidate, GateStatus, ModelChoice, StationChoice
from ledger_core.attest.proofs import Live

T = TypeVar("T")


class DigestCache:
    """Manifest digests of the station's files (a file's cached by size and mtime, a folder's
    hashed again each time); None for what cannot be read."""

    def __init__(self) -> None:
        self._digests: dict[tuple[Path, int, int], str] = {}

    def __call__(self, path: Path) -> str | None:
        try:
            if path.is_dir():
                return build_manifest(path).digest
            st = path.stat()
            key = (path, st.st_size, st.st_mtime_ns)
            if key not in self._digests:
                self._digests[key] = build_manifest(path).digest
            return self._digests[key]
        except (OSError, ManifestError):
            return None

    def on_demand(self) -> dict[Path, str | None]:
        """The digests for one decision: each path is read when the decision first needs it."""
        return _OnDemand(self)


class _OnDemand(dict):
    def __init__(self, digest: Callable[[Path], str | None]) -> None:
        super().__init__()
        self._digest = digest

    def __missing__(self, path: Path) -> str | None:
        value = self[path] = self._digest(path)
        return value


@dataclass
class ModelGate(ModelChoice):
    """`ModelChoice` judged with the files on disk."""

    digests: DigestCache = field(default_factory=DigestCache)

    def weights_digest(self, path: Path) -> str | None:
        """Manifest digest of a file (cached by size and mtime) or a folder; None if unreadable."""
        return self.digests(path)

    def on_state(self, get: Get, keys: Keys, height: int, now_ms: int) -> GateStatus:
        return self.decide(get, keys, height, now_ms, self.digests.on_demand())


class LedgerHead:
    """The local ledger's head height through one cheap query, so that pollers load the whole
    state (a snapshot) only when a block was committed since they last looked."""

    def __init__(self, dd: DataDir) -> None:
        self.dd = dd
        self.height = -1  # the height of the last snapshot that was evaluated
        self._store = None

    def current(self) -> int:
        """The head height now: one query over an engine kept open."""
        if self._store is None:
            from app.services.ledger import ledger_engine
            from ledger_core.chain.store import LedgerStore

            engine = ledger_engine(self.dd, None, must_exist=True)
            self._store = LedgerStore(engine, run_migrations=False)
        return self._store.height()

    def moved(self) -> bool:
        return self.current() != self.height

    def on_new_head(self, judge: Callable[[Live], T], force: bool = False) -> T | None:
        """`judge(live)` on a fresh snapshot if the head moved since the last one judged (or with
        force), else None."""
        from app.services.ledger import open_view

        if not force and not self.moved():
            return None
        view = open_view(self.dd)  # one snapshot for the whole judgement
        try:
            live = view.live
            self.height = live.height
            return judge(live)
        finally:
            view.close()


class GateService:
    """Watches `<data-dir>/ledger.sqlite` and re-evaluates the gate whenever the head moves."""

    def __init__(self, dd: DataDir, gate: ModelGate) -> None:
        self.dd = dd
        self.gate = gate
        self.head = LedgerHead(dd)
        self.last: GateStatus | None = None

    @property
    def height(self) -> int:
        return self.head.height

    def poll(self, force: bool = False) -> GateStatus | None:
        """The new status if the ledger head moved since the last call (else None). Validity is
        judged at the head's block time, so every station reaches the same verdict."""
        st = self.head.on_new_head(
            lambda live: self.gate.on_state(live.get, live.keys, live.height, live.time_ms), force)
        if st is not None:
            self.last = st
        return st


class StationGate:
    """The gate of a station attached to a ledger: the model certificate is found on the ledger
    by the weights' digest (`StationChoice`). Without such a certificate the model is refused."""

    def __init__(self, dd: DataDir, weights: Path) -> None:
        self.dd = dd
        self.weights = weights
        self.choice = StationChoice(weights, build_manifest(weights).digest)
        self.digests = DigestCache()
        self.head = LedgerHead(dd)

    @property
    def digest(self) -> str:
        return self.choice.digest

    def poll(self) -> dict[str, Any] | None:
        """The new status (a dict) if a block was committed since the last call, else None."""
        return self.head.on_new_head(lambda live: self.choice.decide(
            live.get, live.keys, live.height, live.time_ms, self.digests.on_demand()))


__all__ = ["Candidate", "DigestCache", "GateService", "GateStatus", "LedgerHead", "ModelGate",
           "StationGate"]
