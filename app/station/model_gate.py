"""The operator station's trust gate (DESIGN.md section 6): a model runs only while its
certificate and its whole lineage verify and are trusted, re-checked at every new block.

`ModelGate.on_state(...)` is called with the ledger state of each new head; it evaluates the
preferred model (`ledger_core.attest.gate.evaluate`, with the weights on disk re-hashed against the
certificate), and when that fails falls back to the newest model that passed before and still
passes, or to none: the station then stops inspecting. `GateService` watches the local ledger
database and calls it whenever the head moves, so a revocation or a trust drop takes a model out
of service at the next block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.paths import DataDir
from ledger_core.attest.gate import Get, Keys, Verdict, evaluate
from ledger_core.attest.manifest import ManifestError, build_manifest
from ledger_core.attest.queries import newest_with_digest


@dataclass(frozen=True)
class Candidate:
    cert_id: str
    weights: Path
    # other certified artifacts kept at the station, re-hashed too: (certificate id, file or folder)
    local: tuple[tuple[str, Path], ...] = ()


@dataclass
class GateStatus:
    height: int
    active: Candidate | None
    verdict: Verdict | None  # of the preferred model
    message: str
    changed: bool  # the model in service differs from the previous status

    def as_dict(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "active": None if self.active is None else {"cert_id": self.active.cert_id,
                                                        "weights": str(self.active.weights)},
            "verdict": None if self.verdict is None else self.verdict.as_dict(),
            "message": self.message,
            "changed": self.changed,
        }


@dataclass
class ModelGate:
    preferred: Candidate
    passed_before: list[Candidate] = field(default_factory=list)  # oldest first
    active: Candidate | None = None
    _digests: dict[tuple[Path, int, int], str] = field(default_factory=dict)

    def weights_digest(self, path: Path) -> str | None:
        """Manifest digest of a file (cached by size and mtime) or a folder; None if unreadable."""
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

    def _verdict(self, c: Candidate, get: Get, keys: Keys, height: int, now_ms: int) -> Verdict:
        digest = self.weights_digest(c.weights)
        local = {cid: self.weights_digest(p) or "missing" for cid, p in c.local}
        v = evaluate(get, keys, height, now_ms, c.cert_id, {**local, c.cert_id: digest or "missing"})
        if digest is None:
            v.reasons.insert(0, f"the weights {c.weights} cannot be read")
        return v

    def prefer(self, c: Candidate) -> None:
        """A new model is proposed for the station (it runs once the gate passes)."""
        self.preferred = c

    def on_state(self, get: Get, keys: Keys, height: int, now_ms: int) -> GateStatus:
        before = self.active
        v = self._verdict(self.preferred, get, keys, height, now_ms)
        if v.passed:
            self.active = self.preferred
            if self.preferred not in self.passed_before:
                self.passed_before.append(self.preferred)
            msg = f"model {self.preferred.cert_id[:16]} passes the trust gate"
        else:
            self.active = None
            why = "; ".join(v.reasons)
            for c in reversed(self.passed_before):
                if c != self.preferred and self._verdict(c, get, keys, height, now_ms).passed:
                    self.active = c
                    break
            msg = (f"model {self.preferred.cert_id[:16]} refused: {why}; " +
                   (f"falling back to model {self.active.cert_id[:16]}" if self.active else "inspection stopped"))
        return GateStatus(height, self.active, v, msg, self.active != before)


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
            from app.commands.ledger_common import ledger_engine
            from ledger_core.chain.store import LedgerStore

            self._store = LedgerStore(ledger_engine(self.dd, None, must_exist=True), run_migrations=False)
        return self._store.height()

    def moved(self) -> bool:
        return self.current() != self.height


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
        from app.commands.cert_common import open_view

        if not force and not self.head.moved():
            return None
        view = open_view(self.dd)
        try:
            live = view.live
            self.head.height = live.height
            self.last = self.gate.on_state(live.get, live.keys, live.height, live.time_ms)
            return self.last
        finally:
            view.close()


class StationGate:
    """The gate of a station attached to a ledger: the model certificate is found on the ledger
    by the weights' digest (the newest active `model` certificate whose subject digest is the
    manifest digest of the weights file). Without such a certificate the model is refused."""

    def __init__(self, dd: DataDir, weights: Path) -> None:
        self.dd = dd
        self.weights = weights
        self.digest = build_manifest(weights).digest
        self.head = LedgerHead(dd)
        self.gate: ModelGate | None = None

    def find_certificate(self, get: Get, keys: Keys) -> str | None:
        return newest_with_digest(get, keys, self.digest, kind="model", active_only=True)

    def poll(self) -> dict[str, Any] | None:
        """The new status (a dict) if a block was committed since the last call, else None."""
        from app.commands.cert_common import open_view

        if not self.head.moved():
            return None
        view = open_view(self.dd)  # one snapshot both finds the certificate and judges it
        try:
            live = view.live
            self.head.height = live.height
            cert_id = self.find_certificate(live.get, live.keys)
            if cert_id is None:
                self.gate = None
                reason = (f"no active model certificate on the ledger for {self.weights.name} "
                          f"(digest {self.digest[:12]})")
                return {"height": live.height, "active": None, "verdict": {"reasons": [reason]},
                        "message": reason, "changed": True}
            if self.gate is None or self.gate.preferred.cert_id != cert_id:
                self.gate = ModelGate(Candidate(cert_id, self.weights))
            return self.gate.on_state(live.get, live.keys, live.height, live.time_ms).as_dict()
        finally:
            view.close()
