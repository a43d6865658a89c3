"""`cert_world`'s consortium plus a rival training company (organisation and trainer "rival"),
for attacks in which an outsider certifies a digest that is not its own."""

from __future__ import annotations

from app.db import make_engine
from ledger_core.attest.rules import LEDGER_RULES
from ledger_core.chain import genesis as gen
from ledger_core.chain.replica import Chain
from ledger_core.chain.store import LedgerStore
from tests.support.cert_world import PIPELINE_CONFIG, World, model_predicate
from tests.support.ledger_world import signer

NAMES = {"node": ("plant", "node", ["validator"]), "op": ("plant", "expert", ["operator", "monitor"]),
         "trainer": ("lab", "expert", ["trainer"]), "trainer2": ("lab", "expert", ["trainer"]),
         "rival": ("rival", "expert", ["trainer"]),
         "aud1": ("qa1", "expert", ["auditor"]), "aud1b": ("qa1", "expert", ["auditor"]),
         "aud1c": ("qa1", "expert", ["auditor"]),
         "aud2": ("qa2", "expert", ["auditor"]), "aud3": ("qa3", "expert", ["auditor"])}


def rival_world(tmp_path) -> World:
    from tests.support.cert_world import T0

    keys = {n: signer("certs-" + n) for n in NAMES}
    parts = [gen.participant_entry(keys[n].public_raw, o, n, k, r) for n, (o, k, r) in NAMES.items()]
    orgs = [{"id": "plant", "name": "Plant", "roles": ["monitor", "operator", "validator"]},
            {"id": "lab", "name": "Lab", "roles": ["trainer"]},
            {"id": "rival", "name": "Rival", "roles": ["trainer"]}] + [
        {"id": q, "name": q.upper(), "roles": ["auditor"]} for q in ("qa1", "qa2", "qa3")]
    g = gen.make("certs-test", T0, orgs, parts, [keys["node"].key_id])
    chain = Chain(LedgerStore(make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")), g,
                  rules=LEDGER_RULES)
    return World(chain, keys["node"], keys)


def rival_certifies(w: World, ids: dict[str, str], digest: str, valid_until: int | None = None,
                    who: str = "rival") -> str:
    """The rival certifies `digest` (the victim's public weights digest) with the victim's public
    lineage, optionally short-lived."""
    from bedrock.canonical import digest_hex

    return w.issue(who, "model", model_predicate(digest_hex(PIPELINE_CONFIG)),
                   [ids["dataset"], ids["labels"], ids["pipeline"]], digest=digest,
                   name="rival-model", valid_until=valid_until)
