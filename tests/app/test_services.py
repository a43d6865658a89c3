"""The service layer against a real `bcmlp node --dev`: certify, rate, revoke and submit return
typed answers (hash, height, index, or the reason a transaction was dropped); and app/services
imports neither click nor rich."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.paths import DataDir
from app.services.certify import Certified, certify, predicate_for
from app.services.ledger import open_view
from app.services.queries import monitor_reports, subject_trust
from app.services.rating import rate
from app.services.revoke import revoke
from app.services.signing import local_signer, signer_source
from app.services.submit import Committed, TxRefused, submit
from ledger_core.chain.tx import TxError
from ledger_core.node.client import NodeClient
from tests.app.conftest import PASSPHRASE
from tests.support.cert_world import CLASSES
from tests.test_layering import imported_top_levels

REPO = Path(__file__).resolve().parents[2]
SERVICES = sorted((REPO / "app" / "services").glob("*.py"))


def _dataset(root: Path) -> Path:
    for i, c in enumerate(CLASSES):
        (root / c).mkdir(parents=True)
        for j in range(2):
            (root / c / f"{c}_{j}.png").write_bytes(bytes([i, j]) * 100)
    return root


def _committed(dd: DataDir, tx_hash: str) -> dict:
    with NodeClient(dd.node_socket) as cl:
        return cl.tx(tx_hash)


def test_certify_rate_revoke_return_what_was_committed(node_dir, tmp_path):
    dd = DataDir(node_dir)
    ds = _dataset(tmp_path / "neu")
    events: list = []

    def passphrase() -> str:
        events.append("passphrase")
        return PASSPHRASE

    with pytest.raises(TxError, match="source_device"):  # checked before anything is hashed
        predicate_for("dataset", ds)
    pred = predicate_for("dataset", ds, {"source_device": "cam-1"})
    assert pred["counts"] == dict.fromkeys(CLASSES, 2)
    done = certify(dd, signer_source(dd, passphrase), "dataset", ds, pred,
                   progress=lambda n, total: events.append((n, total)))
    assert isinstance(done, Certified) and (done.kind, done.name, done.files) == ("dataset", "neu", 12)
    assert events[-1] == "passphrase" and events[-2][0] == events[-2][1] > 0  # signed after hashing
    tx = _committed(dd, done.cert_id)
    assert (tx["type"], tx["height"]) == ("cert.issue", done.height)
    assert done.describe().startswith(f"certified dataset neu 1: 12 files, digest {done.digest[:16]}")

    signer = signer_source(dd, lambda: PASSPHRASE)
    labels = certify(dd, signer, "labels", ds,
                     predicate_for("labels", ds, {"classes": CLASSES, "count": 12, "method": "folders"}),
                     lineage=[done.cert_id])
    with open_view(dd) as view:
        assert view.live.get("cert", labels.cert_id)["cert"]["lineage"] == [done.cert_id]
    # no self-ratings: the reason comes back typed, the message is the command line's
    with pytest.raises(TxRefused) as refused:
        rate(dd, signer, labels.cert_id, 90, labels.cert_id)
    assert refused.value.reason_code == "self_rating" and refused.value.exit_code == 2
    assert str(refused.value).startswith("the ledger refused the transaction: self_rating: ")
    trust = subject_trust(dd, labels.cert_id[:12])
    assert trust.is_cert and trust.info["subject"] == labels.cert_id and trust.info["kind"] == "cert"

    gone = revoke(dd, signer, done.cert_id[:12], "poisoned")
    assert gone.cert_id == done.cert_id and _committed(dd, gone.tx_hash)["height"] == gone.height


def test_submit_answers_hash_height_and_index(node_dir):
    dd = DataDir(node_dir)
    me = local_signer(dd, lambda: PASSPHRASE)
    done = submit(dd, me, "monitor.report",
                  {"component": "camera-1", "status": "ok", "metrics": {"fps": 8}, "about": None})
    assert isinstance(done, Committed) and done.hash == done.tx.hash
    tx = _committed(dd, done.hash)
    assert (tx["height"], tx["index"]) == (done.height, done.index)
    assert [r["component"] for r in monitor_reports(dd)] == ["camera-1"]
    with pytest.raises(TxRefused) as refused:  # a participant cannot rate itself either
        rate(dd, lambda: me, me.key_id, 50, done.hash)
    assert refused.value.reason_code == "self_rating"


def test_signer_needs_an_identity_before_asking(tmp_path):
    asked = []
    with pytest.raises(Exception, match="bcmlp init"):
        local_signer(DataDir(tmp_path), lambda: asked.append(1) or "x")
    assert not asked


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_services_import_neither_click_nor_rich(path):
    assert not imported_top_levels(path) & {"click", "rich"}


def test_services_load_without_click_or_rich():
    modules = [f"app.services.{p.stem}" for p in SERVICES if p.stem != "__init__"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "sys.exit(sorted({m.split('.')[0] for m in sys.modules} & {'click', 'rich'}) != [])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
