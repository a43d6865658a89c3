"""Attacks on the station's model (issue 14): whoever can write the model file swaps the weights
around the gate's check (time of check, time of use), or keeps the size and the mtime; a
competitor certifies the victim's public weights digest. The model that runs is always the one
whose bytes were judged, or the station refuses; a rival certificate changes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest

import resources
from app.paths import DataDir
from ledger_core.attest.manifest import build_manifest
from ledger_core.chain import genesis as gen
from tests.support.cert_world import T0, certify_all, trust_everyone, world

BUNDLED = resources.path("model", "neu.safetensors")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def evil_model(good: bytes, card: bytes) -> tuple[bytes, bytes]:
    """Other weights of the same architecture and size, with a card that names them: a model the
    loader accepts, that nobody certified."""
    from safetensors.torch import load, save

    state = load(good)
    state["head.bias"] = state["head.bias"] + 5.0
    evil = save(state, metadata={"format": "pt"})
    c = json.loads(card)
    c["weights_sha256"] = sha(evil)
    return evil, (json.dumps(c, indent=2, sort_keys=True) + "\n").encode()


class Station:
    """A data dir with a ledger that certifies (and trusts) a copy of the bundled model."""

    def __init__(self, tmp_path, make_world=world):
        self.w = make_world(tmp_path)
        (tmp_path / "genesis.json").write_bytes(gen.dumps(self.w.chain.genesis))
        self.dd = DataDir(tmp_path)
        models = tmp_path / "models"
        models.mkdir()
        self.weights = models / "m.safetensors"
        self.card = models / "m.card.json"
        shutil.copyfile(BUNDLED, self.weights)
        shutil.copyfile(BUNDLED.with_name("neu.card.json"), self.card)
        self.good, self.good_card = self.weights.read_bytes(), self.card.read_bytes()
        self.evil, self.evil_card = evil_model(self.good, self.good_card)
        assert len(self.evil) == len(self.good) and self.evil != self.good
        self.ids = certify_all(self.w, weights_digest=build_manifest(self.weights).digest)
        trust_everyone(self.w)

    def put(self, weights: bytes, card: bytes) -> None:
        self.weights.write_bytes(weights)
        self.card.write_bytes(card)

    def swap(self) -> None:
        self.put(self.evil, self.evil_card)

    def restore(self) -> None:
        self.put(self.good, self.good_card)


@pytest.fixture
def st(tmp_path):
    return Station(tmp_path)


def order():
    from app.station import services as svc

    return svc.pick_order(svc.orders(), None)


# --- (a) swap the weights after the gate's check, then restore -----------------------------------

def test_station_start_with_swapped_weights_refuses(st):
    """GUI path: the gate passed the certified file; the attacker swaps in other weights before
    Start (and would restore them after). Start judges the bytes it loads: refused; once the
    file is put back, Start runs the certified bytes. (The old station loaded the file at Start
    without judging it, and kept it.)"""
    from app.gui.inspection_pages import OperatorServices
    from app.station.model_gate import StationGate

    gate = StationGate(st.dd, st.weights)
    services = OperatorServices(st.dd, st.weights, "cpu")
    services.gate = gate  # as `attach_station_gate` wires it
    assert gate.poll()["active"]["cert_id"] == st.ids["model"]
    st.swap()
    with pytest.raises(Exception, match="does not pass the trust gate.*no active model certificate"):
        services.make_inspector(order())
    st.restore()
    insp = services.make_inspector(order())
    assert insp.engine.loaded.weights_sha256 == sha(st.good)
    assert insp.model_cert_id == st.ids["model"]


def test_station_loads_the_bytes_it_judged(st, monkeypatch):
    """The attacker swaps the file right after the station read it (between the check and the
    use) and restores it later: the model loaded is the one whose bytes were judged."""
    import torch
    from safetensors.torch import load

    from app.station import model_gate
    from app.station.model_gate import StationGate

    real = model_gate.read_weights

    def read_then_swap(path):
        out = real(path)
        st.weights.write_bytes(st.evil)  # the attacker's write lands right after the read
        return out

    monkeypatch.setattr(model_gate, "read_weights", read_then_swap)
    admitted = StationGate(st.dd, st.weights).admit()
    assert admitted.cert_id == st.ids["model"]
    assert admitted.loaded.weights_sha256 == sha(st.good) and st.weights.read_bytes() == st.evil
    want = load(st.good)["head.bias"]
    assert torch.equal(admitted.loaded.model.head.bias.detach(), want)


def test_cli_does_not_run_weights_restored_after_loading(st, run_cli, monkeypatch):
    """CLI path: uncertified weights are on disk when `bcmlp inspect` starts, and the attacker
    restores the certified file as soon as the weights are in memory. The old command loaded
    the model first and hashed the (restored) file afterwards: it ran the uncertified weights.
    Now the digest of the very bytes loaded is judged: refused (exit 1)."""
    import safetensors.torch

    real = safetensors.torch.load

    def load_then_restore(data):
        out = real(data)
        st.restore()
        return out

    monkeypatch.setattr(safetensors.torch, "load", load_then_restore)
    st.swap()
    st.w.block()
    code, out, err = run_cli("inspect", "--source", str(resources.path("samples", "images")),
                             "--model", str(st.weights), "--limit", "2", "--json",
                             "--data-dir", str(st.dd.root))
    ran = [json.loads(line)["model_id"] for line in out.splitlines()]
    assert code == 1 or set(ran) == {sha(st.good)}, (code, err)
    assert sha(st.evil) not in ran
    assert code == 1 and "trust gate" in err


def test_cli_records_name_the_judged_weights_and_certificate(st, run_cli, monkeypatch):
    """The attacker swaps the file while the model is being loaded (after the check): the
    records name the certified weights and their certificate."""
    import safetensors.torch

    real = safetensors.torch.load

    def swap_then_load(data):
        st.swap()
        return real(data)

    monkeypatch.setattr(safetensors.torch, "load", swap_then_load)
    st.w.block()
    code, out, err = run_cli("inspect", "--source", str(resources.path("samples", "images")),
                             "--model", str(st.weights), "--limit", "2", "--json",
                             "--data-dir", str(st.dd.root))
    assert code == 0, err
    recs = [json.loads(line) for line in out.splitlines()]
    assert len(recs) == 2
    assert {r["model_id"] for r in recs} == {sha(st.good)}
    assert {r["model_cert_id"] for r in recs} == {st.ids["model"]}


# --- (b) same size, restored mtime, different bytes ---------------------------------------------

def keep_size_and_mtime(path, data: bytes) -> None:
    s = path.stat()
    assert len(data) == s.st_size
    path.write_bytes(data)
    os.utime(path, ns=(s.st_atime_ns, s.st_mtime_ns))
    assert path.stat().st_mtime_ns == s.st_mtime_ns and path.stat().st_size == s.st_size


def test_same_size_and_mtime_is_judged_again_station(st):
    from app.station.model_gate import StationGate

    gate = StationGate(st.dd, st.weights)
    assert gate.poll()["active"] is not None
    keep_size_and_mtime(st.weights, st.evil)
    st.w.block()  # the next block: the station reads the file afresh
    s = gate.poll()
    assert s["active"] is None and s["changed"]
    assert "the weights on disk changed" in s["message"] and "no active model certificate" in s["message"]


def test_same_size_and_mtime_is_judged_again_model_gate(st):
    """`ModelGate` (`bcmlp gate`, the demo station) hashes afresh: the old cache keyed on size
    and mtime returned the certified digest for the other bytes."""
    from app.station.model_gate import Candidate, ModelGate

    gate = ModelGate(Candidate(st.ids["model"], st.weights))
    w = st.w
    assert gate.on_state(w.get, w.tkeys, w.chain.state.height, T0 + 10).active is not None
    keep_size_and_mtime(st.weights, st.evil)
    s = gate.on_state(w.get, w.tkeys, w.chain.state.height, T0 + 10)
    assert s.active is None and "do not match the certified digest" in s.message


# --- (c) fail closed --------------------------------------------------------------------------

def test_cli_gate_error_mid_run_stops_the_run(st, run_cli, monkeypatch):
    """The ledger cannot be read at a later block: the run stops (exit 1) with the reason."""
    from app.station.model_gate import LedgerHead

    real = LedgerHead.on_new_head
    calls = {"n": 0}

    def flaky(self, judge, force=False):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError("database disk image is malformed")
        return real(self, judge, force)

    monkeypatch.setattr(LedgerHead, "on_new_head", flaky)
    st.w.block()
    code, out, err = run_cli("inspect", "--source", str(resources.path("samples", "images")),
                             "--model", str(st.weights), "--limit", "100", "--json",
                             "--data-dir", str(st.dd.root))
    assert code == 1 and "gate error: database disk image is malformed" in err
    assert len(out.splitlines()) < 100


def test_station_admit_fails_closed_on_a_gate_error(st, monkeypatch):
    from app.station.model_gate import GateRefused, LedgerHead, StationGate

    def broken(self, judge, force=False):
        raise RuntimeError("ledger unreadable")

    monkeypatch.setattr(LedgerHead, "on_new_head", broken)
    with pytest.raises(GateRefused, match="gate error: ledger unreadable"):
        StationGate(st.dd, st.weights).admit()


# --- (d) a competitor certifies the victim's digest ---------------------------------------------

def test_rival_certificate_does_not_change_the_station_nor_stop_it(tmp_path, run_cli):
    """A rival trainer certifies the station's public weights digest (low trust, and a second,
    short-lived one). The old station took the newest matching certificate (the rival's) and
    stopped; now the certificate in use stays and inspection goes on."""
    from app.station.model_gate import StationGate
    from tests.support.rival_world import rival_certifies, rival_world

    st = Station(tmp_path, rival_world)
    gate = StationGate(st.dd, st.weights)
    assert gate.poll()["active"]["cert_id"] == st.ids["model"]
    digest = build_manifest(st.weights).digest
    rival_certifies(st.w, st.ids, digest, valid_until=st.w.chain.state.last_time + 1500)
    rival_certifies(st.w, st.ids, digest)
    for _ in range(3):  # the short-lived one expires meanwhile
        s = gate.poll()
        assert s["active"]["cert_id"] == st.ids["model"] and not s["changed"], s["message"]
        st.w.block()
    code, out, err = run_cli("inspect", "--source", str(resources.path("samples", "images")),
                             "--model", str(st.weights), "--limit", "2", "--json",
                             "--data-dir", str(st.dd.root))
    assert code == 0, err
    assert {json.loads(line)["model_cert_id"] for line in out.splitlines()} == {st.ids["model"]}
    # opting in to the rival's organisation is explicit
    code, out, err = run_cli("inspect", "--source", str(resources.path("samples", "images")),
                             "--model", str(st.weights), "--limit", "2", "--accept-org", "rival",
                             "--data-dir", str(st.dd.root))
    assert code == 1 and "below the threshold" in err
    code, out, err = run_cli("inspect", "--source", str(resources.path("samples", "images")),
                             "--model", str(st.weights), "--limit", "2", "--json",
                             "--pin-cert", st.ids["model"][:16], "--data-dir", str(st.dd.root))
    assert code == 0, err


def test_station_configuration(tmp_path):
    """What the station accepts: flags first, else `station.json`, else the rule's default; a
    file that cannot be read is one clear error (the GUI then refuses every model)."""
    from app.errors import UserError
    from app.station.model_gate import Acceptance, station_acceptance

    dd = DataDir(tmp_path)
    assert station_acceptance(dd) == Acceptance()
    (tmp_path / "station.json").write_text('{"accept_orgs": ["lab", "qa1"]}')
    assert station_acceptance(dd) == Acceptance(None, frozenset({"lab", "qa1"}))
    assert station_acceptance(dd, pin="c" * 64) == Acceptance("c" * 64, frozenset())
    (tmp_path / "station.json").write_text('{"accept_orgs": "lab"}')
    with pytest.raises(UserError, match="accept_orgs a list"):
        station_acceptance(dd)


def test_card_with_other_class_names_is_refused(st):
    """The card beside the weights is not covered by the certified digest: a card that names the
    certified weights' SHA-256 but permutes the class names (so NOK reads as OK) is refused."""
    from app.station.model_gate import GateRefused, StationGate

    card = json.loads(st.good_card)
    card["classes"] = list(reversed(card["classes"]))
    st.card.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    with pytest.raises(GateRefused, match="not the certified classes"):
        StationGate(st.dd, st.weights).admit()
