"""The rule set of a bcmlp ledger: the chain's membership rules plus attestation (certificates,
ratings, anchored inspection batches, monitoring reports).

Every chain, replay and verification of a bcmlp ledger is built with `LEDGER_RULES`; a
different rule set gives a different app_hash, so all nodes of a consortium must use this one.
"""

from __future__ import annotations

from ledger_core.attest.effects import ATTESTATION_EFFECTS, ATTESTATION_TABLES
from ledger_core.chain.membership import CHAIN_RULES

LEDGER_RULES = CHAIN_RULES.extended(ATTESTATION_TABLES, ATTESTATION_EFFECTS)
