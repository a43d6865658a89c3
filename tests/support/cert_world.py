"""A consortium for certificate and trust tests: a plant (operator, validator), a training lab,
three auditing organisations; in-process chain with single-validator block production."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from app.db import make_engine
from bedrock.canonical import digest_hex
from ledger_core.attest.gate import TrustView, evaluate
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain import genesis as gen
from ledger_core.chain import tx as txm
from ledger_core.chain.block import sign_commit
from ledger_core.chain.replica import Chain
from ledger_core.chain.store import LedgerStore
from ledger_core.crypto.signing import Signer
from tests.support.ledger_world import produce, signer

T0 = 1_700_000_000_000
PIPELINE_CONFIG = {"grayscale": True, "size": 128, "normalise": "mean-std"}


@dataclass
class World:
    chain: Chain
    node: Signer
    keys: dict[str, Signer]
    nonces: dict[str, itertools.count] = field(default_factory=dict)
    committers: list[Signer] = field(default_factory=list)  # who signs each commit (default: node)

    def make(self, who: str, tx_type: str, payload: dict) -> txm.Tx:
        n = self.nonces.setdefault(who, itertools.count(1))
        return txm.make(self.keys[who], self.chain.chain_id, tx_type, next(n), payload, T0 + 1)

    def block(self, *txs: txm.Tx):
        if not self.committers:
            _block, result = produce(self.chain, self.node, list(txs))
            return result
        block, result = self.chain.propose(list(txs), self.node.key_id, self.chain.state.last_time + 1000)
        commit = sign_commit(self.committers, self.chain.chain_id, block.height, 0, block.id)
        self.chain.commit(block, commit, result)
        return result

    def submit(self, who: str, tx_type: str, payload: dict):
        """One transaction in its own block: (tx, None) if accepted, (tx, reason code) if not."""
        tx = self.make(who, tx_type, payload)
        result = self.block(tx)
        return tx, (result.rejected[0][1].code if result.rejected else None)

    def issue(self, who: str, kind: str, predicate: dict, lineage=(), digest="a" * 64, name=None,
              valid_until=None) -> str:
        cert = {"kind": kind, "subject": {"name": name or kind, "version": "1", "digest": digest},
                "lineage": list(lineage), "predicate": predicate, "valid_from": 0, "valid_until": valid_until}
        tx, code = self.submit(who, "cert.issue", {"cert": cert})
        assert code is None, code
        return tx.hash

    def rate(self, who: str, subject: str, score: int, kind: str = "participant"):
        return self.submit(who, "rating.submit", {"subject_kind": kind, "subject": subject, "judges": "e" * 64,
                                                  "positive": score * 10, "negative": 1000 - score * 10})[1]

    def get(self, table, key):
        return self.chain.state.tables[table].get(key)

    def tkeys(self, table):
        return self.chain.state.tables[table].keys()

    def trust(self) -> TrustView:
        return TrustView(self.get, self.tkeys, self.chain.state.height)

    def gate(self, cert_id: str, local=None):
        return evaluate(self.get, self.tkeys, self.chain.state.height, T0 + 10, cert_id, local)


def world(tmp_path, validators: int = 1, signing: int | None = None) -> World:
    """`validators` nodes of the plant validate; `signing` of them sign each commit."""
    names = {"node": ("plant", "node", ["validator"]), "op": ("plant", "expert", ["operator", "monitor"]),
             "trainer": ("lab", "expert", ["trainer"]), "trainer2": ("lab", "expert", ["trainer"]),
             "aud1": ("qa1", "expert", ["auditor"]), "aud1b": ("qa1", "expert", ["auditor"]),
             "aud1c": ("qa1", "expert", ["auditor"]),
             "aud2": ("qa2", "expert", ["auditor"]), "aud3": ("qa3", "expert", ["auditor"])}
    for i in range(1, validators):
        names[f"node{i}"] = ("plant", "node", ["validator"])
    keys = {n: signer("certs-" + n) for n in names}
    parts = [gen.participant_entry(keys[n].public_raw, o, n, k, r) for n, (o, k, r) in names.items()]
    orgs = [{"id": "plant", "name": "Plant", "roles": ["monitor", "operator", "validator"]},
            {"id": "lab", "name": "Lab", "roles": ["trainer"]}] + [
        {"id": q, "name": q.upper(), "roles": ["auditor"]} for q in ("qa1", "qa2", "qa3")]
    vals = [keys["node"]] + [keys[f"node{i}"] for i in range(1, validators)]
    g = gen.make("certs-test", T0, orgs, parts, [v.key_id for v in vals])
    chain = Chain(LedgerStore(make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")), g, rules=LEDGER_RULES)
    return World(chain, keys["node"], keys, committers=vals[: signing or len(vals)] if validators > 1 else [])


def model_predicate(preprocessing_digest=None) -> dict:
    p = {"architecture": "cnn-4stage", "classes": CLASSES, "training": {"epochs": 10, "optimizer": "adam"},
         "metrics": {"accuracy": 990_000}, "eval_set": "neu-val"}
    if preprocessing_digest:
        p["preprocessing_digest"] = preprocessing_digest
    return p


CLASSES = ["crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches"]


def certify_all(w: World, dataset_digest="d" * 64, weights_digest="c" * 64) -> dict[str, str]:
    """Dataset (operator), labels (auditor), pipeline (operator), model (trainer)."""
    ds = w.issue("op", "dataset", {"counts": {c: 300 for c in CLASSES}, "source_device": "camera-1"},
                 digest=dataset_digest)
    lb = w.issue("aud1", "labels", {"classes": CLASSES, "count": 1800, "method": "two annotators"}, [ds])
    pl = w.issue("op", "pipeline", {"config": PIPELINE_CONFIG, "config_digest": digest_hex(PIPELINE_CONFIG)})
    md = w.issue("trainer", "model", model_predicate(digest_hex(PIPELINE_CONFIG)), [ds, lb, pl],
                 digest=weights_digest)
    return {"dataset": ds, "labels": lb, "pipeline": pl, "model": md}


def trust_everyone(w: World) -> None:
    """Auditors of two other organisations vouch for each issuer (and for each other)."""
    for who, raters in (("op", ("aud2", "aud3")), ("trainer", ("aud2", "aud3")),
                        ("aud1", ("aud2", "aud3")), ("aud2", ("aud3", "aud1")), ("aud3", ("aud1", "aud2"))):
        for r in raters:
            assert w.rate(r, w.keys[who].key_id, 100) is None
