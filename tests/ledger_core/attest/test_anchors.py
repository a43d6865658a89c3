"""The anchoring decisions without a store: when a batch is cut (time, count, a certificate
change), its root, proofs and payload, and the checks of an anchored record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from hypothesis import given
from hypothesis import strategies as st

from ledger_core.attest.anchors import Anchor, Batch, BatchPolicy, model_checks, record_report
from ledger_core.attest.proofs import Live, Report, tx_evidence
from ledger_core.crypto import merkle
from tests.support.cert_world import T0, certify_all, trust_everyone, world

S = 1_000_000_000  # ns per second
M, P = "a" * 64, "b" * 64  # model and pipeline certificate ids


@dataclass(frozen=True)
class Rec:
    id: int
    inspected_at_ns: int
    model_cert_id: str | None = M
    pipeline_cert_id: str | None = P
    image_sha256: str = hashlib.sha256(b"image").hexdigest()

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"record {self.id} {self.model_cert_id}".encode()).hexdigest()


def recs(n: int, t0_s: int = 100, **kw) -> list[Rec]:
    return [Rec(i + 1, t0_s * S + i, **kw) for i in range(n)]


def test_nothing_is_cut_before_a_batch_is_due():
    policy = BatchPolicy(every_s=60, max_records=3)
    assert policy.cut([], 1e9) is None and policy.cut([], 1e9, force=True) is None
    assert policy.cut(recs(2), 159) is None  # 59 s after the oldest record
    assert [r.id for r in policy.cut(recs(2), 159, force=True).records] == [1, 2]


def test_cut_by_time():
    policy = BatchPolicy(every_s=60, max_records=3)
    assert [r.id for r in policy.cut(recs(2), 160).records] == [1, 2]


def test_cut_by_count_takes_max_records():
    policy = BatchPolicy(every_s=60, max_records=3)
    assert [r.id for r in policy.cut(recs(5), 100).records] == [1, 2, 3]


def test_cut_where_a_certificate_changes():
    policy = BatchPolicy(every_s=60, max_records=10)
    pending = recs(2) + [Rec(3, 100 * S + 3, model_cert_id=None),
                         Rec(4, 100 * S + 4, pipeline_cert_id="c" * 64)]
    cuts = []
    while (b := policy.cut(pending, 1000)) is not None:
        cuts.append([r.id for r in b.records])
        pending = pending[len(b.records):]
    assert cuts == [[1, 2], [3], [4]]


@given(st.lists(st.sampled_from([(M, P), (None, P), (M, None)]), min_size=1, max_size=40),
       st.integers(1, 7))
def test_forced_cuts_partition_the_pending_records(certs, max_records):
    pending = [Rec(i + 1, i, m, p) for i, (m, p) in enumerate(certs)]
    policy = BatchPolicy(every_s=60, max_records=max_records)
    out = []
    while (b := policy.cut(pending[len(out):], 0, force=True)) is not None:
        assert 1 <= len(b.records) <= max_records
        assert len({(r.model_cert_id, r.pipeline_cert_id) for r in b.records}) == 1
        out += b.records
    assert out == pending


def test_proofs_verify_against_the_root():
    batch = Batch.of(recs(7))
    leaves = [bytes.fromhex(r.digest) for r in batch.records]
    assert batch.root == merkle.root(leaves) and len(batch.proofs) == 7
    for i, (leaf, proof) in enumerate(zip(leaves, batch.proofs, strict=True)):
        assert merkle.verify_inclusion(leaf, i, 7, proof, batch.root)
        assert merkle.inclusion_proof(i, leaves) == list(proof)
        assert not merkle.verify_inclusion(leaf, (i + 1) % 7, 7, proof, batch.root)
    assert not merkle.verify_inclusion(b"\x00" * 32, 0, 7, batch.proofs[0], batch.root)


def test_payload_names_the_first_records_certificates_and_the_time_span():
    batch = Batch.of([Rec(1, 5_000_000_123), Rec(2, 7_000_999_999)])
    assert batch.payload("station-1") == {
        "root": batch.root.hex(), "count": 2, "station": "station-1", "from_time": 5000,
        "until_time": 7000, "model_cert": M, "pipeline_cert": P}
    odd = Batch.of([Rec(1, 0, model_cert_id="not-a-cert-id", pipeline_cert_id=None)])
    assert odd.payload("s")["model_cert"] is None and odd.payload("s")["pipeline_cert"] is None


def test_record_report_on_what_the_station_read(tmp_path):
    w = world(tmp_path)
    ids = certify_all(w)
    trust_everyone(w)
    rec = Rec(1, T0 * 1_000_000, model_cert_id=ids["model"], pipeline_cert_id=ids["pipeline"])
    batch = Batch.of([rec, replace(rec, id=2)])
    tx, code = w.submit("op", "inspection.batch", batch.payload("station-1"))
    assert code is None
    anchor = Anchor(rec.digest, 0, 2, batch.root.hex(), batch.proofs[0], tx.hash)
    ev = tx_evidence(w.chain.store, w.chain.genesis, tx.hash)
    live = Live(w.get, w.tkeys, w.chain.state.height, T0 + 10)

    def report(record=rec, anchor=anchor, ev=ev, image=b"image"):
        return record_report(1, record, anchor, ev, image, w.chain.genesis, live)

    rep = report()
    assert rep.ok, rep.as_dict()
    assert [c.name for c in rep.checks] == [
        "record digest", "inclusion", "batch root", "batch commit", "batch inclusion", "image",
        "model certificate", "model trust"]

    def failing(rep):
        return [c.name for c in rep.checks if not c.ok]

    assert failing(report(record=None)) == ["record"]
    assert failing(report(anchor=None)) == ["anchored"]
    assert failing(report(ev=None)) == ["batch committed"]
    assert failing(report(image=None)) == failing(report(image=b"other")) == ["image"]
    assert failing(report(record=replace(rec, id=3))) == ["record digest", "inclusion"]
    assert failing(report(anchor=replace(anchor, root="0" * 64))) == ["inclusion", "batch root"]


def test_model_certificate_revoked_at_a_height(tmp_path):
    w = world(tmp_path)
    ids = certify_all(w)
    trust_everyone(w)
    assert w.submit("trainer", "cert.revoke", {"cert_id": ids["model"], "reason": "bad"})[1] is None
    revoked_at = w.get("cert", ids["model"])["revoked_height"]
    live = Live(w.get, w.tkeys, w.chain.state.height, T0 + 10)

    def check(height):
        rep = Report("r")
        model_checks(rep, live, ids["model"], height)
        return rep.checks[0]

    before, at = check(revoked_at - 1), check(revoked_at)
    assert before.ok and before.reason.endswith(f"not revoked at batch height {revoked_at - 1}")
    assert not at.ok and at.reason.endswith(f"revoked at {revoked_at}")
    issued = w.get("cert", ids["model"])["height"]
    assert not check(issued - 1).ok  # a batch older than its model's certificate
    rep = Report("r")
    model_checks(rep, live, None, revoked_at)
    assert [(c.name, c.ok) for c in rep.checks] == [("model certificate", False)]
