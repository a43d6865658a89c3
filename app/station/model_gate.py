"""The operator station's trust gate (docs/design.md section 6), its I/O: reading the model bytes,
reading the ledger head, polling. The decision is `ledger_core.attest.model_choice`'s.

The model that runs is the model whose bytes were judged: `StationGate.admit()` reads the weights
file once into memory (bounded), digests those bytes, judges the digest at the ledger head and
loads the model from the same buffer (`inspection.model.load_model_bytes`); the path is never
read a second time. `StationGate.poll()` reads the file afresh at every new block and judges
what it holds now, so a changed file is noticed (and judged before anything swaps to it), and a
revocation or a trust drop takes the model out of service at the next block. Nothing is cached
by size or mtime. Any error while judging is a refusal (fail closed) for the callers.

`ModelGate` (for `bcmlp gate` and the demo) judges a candidate's files on disk, hashed afresh at
each decision; `GateService` watches the local ledger and calls it whenever the head moves.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from app.errors import CheckFailed, UserError
from app.paths import DataDir
from bedrock.atomic import read_json_object
from inspection.errors import InspectionError
from inspection.model import LoadedModel, load_model_bytes, read_weights
from ledger_core.attest.gate import Get, Keys
from ledger_core.attest.manifest import FileEntry, Manifest, ManifestError, build_manifest
from ledger_core.attest.model_choice import (
    Acceptance,
    Candidate,
    GateStatus,
    ModelChoice,
    StationChoice,
)
from ledger_core.attest.proofs import Live

T = TypeVar("T")
log = logging.getLogger("bcmlp.station.gate")
STATION_FILE = "station.json"  # in the data dir: {"pin_cert": ID} or {"accept_orgs": [ORG, ...]}
MAX_STATION_BYTES = 64 * 1024


def bytes_digest(name: str, data: bytes, sha256: str | None = None) -> str:
    """The manifest digest of one file named `name` holding `data` (whose SHA-256 the caller may
    already have): what `build_manifest` gives for that file, from bytes already in memory."""
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    return Manifest((FileEntry(name, len(data), sha256),)).digest


def fresh_digest(path: Path) -> str | None:
    """Manifest digest of a file or folder, read now (never cached); None if unreadable."""
    try:
        return build_manifest(path).digest
    except (OSError, ManifestError):
        return None


class _OnDemand(dict):
    """The digests for one decision: each path is read when the decision first needs it."""

    def __missing__(self, path: Path) -> str | None:
        value = self[path] = fresh_digest(path)
        return value


@dataclass
class ModelGate(ModelChoice):
    """`ModelChoice` judged with the files on disk, read afresh at each decision."""

    def weights_digest(self, path: Path) -> str | None:
        return fresh_digest(path)

    def on_state(self, get: Get, keys: Keys, height: int, now_ms: int) -> GateStatus:
        return self.decide(get, keys, height, now_ms, _OnDemand())


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
            out = judge(live)
            self.height = live.height  # only once judged: a judgement that raised is retried
            return out
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


class GateRefused(CheckFailed):
    """The station's model does not pass the trust gate (or the gate could not be judged)."""


@dataclass(frozen=True)
class Admitted:
    """A model the gate passed: loaded from the very bytes whose digest was judged."""

    loaded: LoadedModel
    cert_id: str
    digest: str
    height: int


def station_acceptance(
    dd: DataDir, pin: str | None = None, orgs: Iterable[str] = ()
) -> Acceptance:
    """What the station accepts: the flags if given, else `<data-dir>/station.json`
    (`{"pin_cert": ID}` or `{"accept_orgs": [ORG, ...]}`), else the default of the choice rule
    (`model_choice`: the issuer of the certificate used before)."""
    orgs = tuple(orgs)
    if pin or orgs:
        return Acceptance.of(pin, orgs)
    path = dd.root / STATION_FILE
    if not path.exists():
        return Acceptance()
    cfg = read_json_object(path, MAX_STATION_BYTES, UserError)
    pin_cfg, orgs_cfg = cfg.get("pin_cert"), cfg.get("accept_orgs", [])
    if (pin_cfg is not None and not isinstance(pin_cfg, str)) or not isinstance(orgs_cfg, list) \
            or not all(isinstance(o, str) for o in orgs_cfg):
        raise UserError(f"{path}: pin_cert must be a certificate id, accept_orgs a list of names")
    return Acceptance.of(pin_cfg, orgs_cfg)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("height", "active", "digest", "message"))


class StationGate:
    """The gate of a station attached to a ledger: the model certificate is chosen on the ledger
    by the digest of the bytes the station read (`StationChoice`, with what the station
    accepts); without one that passes the model is refused. Thread-safe (the GUI polls on one
    worker thread and admits on another)."""

    def __init__(self, dd: DataDir, weights: Path, accept: Acceptance | None = None) -> None:
        self.dd = dd
        self.weights = Path(weights)
        self.choice = StationChoice(self.weights, "", accept or Acceptance())
        self.head = LedgerHead(dd)
        self.digest: str | None = None  # of the bytes read last (None: unreadable)
        self.sha256: str | None = None
        self.last: dict[str, Any] | None = None
        self._unreported: dict[str, Any] | None = None  # a judgement made by admit()
        self._lock = threading.RLock()

    def _read(self) -> tuple[Path, bytes] | str:
        """The weights read once now, with their digest and SHA-256 noted; a reason if unreadable."""
        try:
            path, data = read_weights(self.weights)
        except InspectionError as exc:
            self.digest = self.sha256 = None
            return str(exc)
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.digest = bytes_digest(path.name, data, self.sha256)  # the bytes hashed once
        return path, data

    def _judge(self, live: Live, read: tuple[Path, bytes] | str) -> dict[str, Any]:
        before = self.last
        if isinstance(read, str):
            self.choice.active = None
            reason = f"the weights {self.weights.name} cannot be read: {read}"
            st = {"height": live.height, "active": None, "verdict": {"reasons": [reason]},
                  "message": reason, "changed": True, "digest": None}
        else:
            self.choice.digest = self.digest
            st = self.choice.decide(live.get, live.keys, live.height, live.time_ms,
                                    {self.weights: self.digest})
            if st["active"] is not None:
                rec = live.get("cert", st["active"]["cert_id"])
                st["certified_classes"] = rec["cert"]["predicate"].get("classes")
        st["weights_sha256"] = self.sha256
        if before is not None and before.get("digest") != st["digest"]:
            st["changed"] = True
            if before.get("digest") is not None:
                st["message"] = (f"the weights on disk changed (digest {str(st['digest'])[:12]}): "
                                 + st["message"])
        return st

    def _report(self, st: dict[str, Any]) -> dict[str, Any]:
        """Note a new status (the log says every refusal once)."""
        self.last = st
        if st["active"] is None:
            log.warning("model gate at height %s: refused: %s", st["height"], st["message"])
        return st

    def poll(self) -> dict[str, Any] | None:
        """The new status (a dict) if a block was committed since the last call (the weights are
        read afresh and judged), or a judgement `admit` made since; else None. While the model
        is refused the weights are judged at every call (a status only when something changed),
        so a file put right is admitted without waiting for a block. Raises when the gate cannot
        be judged: callers refuse the model then."""
        with self._lock:
            before = self.last
            refused = before is not None and before.get("active") is None
            # while refused, judge at every poll (the file may be put right before the next block)
            st = self.head.on_new_head(lambda live: self._judge(live, self._read()), force=refused)
            if st is None:
                st, self._unreported = self._unreported, None
                return st  # noted (and logged) by admit already
            self._unreported = None
            if refused and _same(st, before):
                self.last = st
                return None  # nothing new
            return self._report(st)

    def admit(self) -> Admitted:
        """Read the weights once, judge their digest at the ledger head now and load the model
        from those same bytes; GateRefused (exit 1) with the reasons if the gate refuses it or
        cannot be judged, UserError (exit 2) if the weights cannot be read or loaded."""
        with self._lock:
            read = self._read()
            if isinstance(read, str):
                self.last = self._unreported = None
                raise UserError(read)  # bad input (exit 2), as without a ledger
            try:
                st = self.head.on_new_head(lambda live: self._judge(live, read), force=True)
            except Exception as exc:  # noqa: BLE001 - fail closed, with the reason
                log.warning("model gate error: %s", exc)
                raise GateRefused(f"gate error: {exc}") from None
            self._unreported = self._report(st)
            if st["active"] is None:
                reasons = "; ".join((st.get("verdict") or {}).get("reasons", [])) or st["message"]
                raise GateRefused(f"the model does not pass the trust gate at height "
                                  f"{st['height']}: {reasons}")
            path, data = read
            try:
                loaded = load_model_bytes(path, data)
            except InspectionError as exc:
                raise UserError(str(exc)) from None
            if loaded.weights_sha256 != self.sha256:  # cannot happen: the same buffer
                raise GateRefused("the weights loaded are not the weights judged")
            certified = st.get("certified_classes")
            if certified is not None and list(loaded.classes) != list(certified):
                # the card is not covered by the digest: its class names must be the certified ones
                raise GateRefused(f"the model card's classes {list(loaded.classes)} are not the "
                                  f"certified classes {list(certified)}")
            return Admitted(loaded, st["active"]["cert_id"], self.digest, st["height"])


__all__ = ["Acceptance", "Admitted", "Candidate", "GateRefused", "GateService", "GateStatus",
           "LedgerHead", "ModelGate", "StationGate", "bytes_digest", "fresh_digest",
           "station_acceptance"]
