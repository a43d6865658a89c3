"""Alembic environment: runs on the connection handed over by `store.migrate`
(`bedrock.migrations`); imported outside an Alembic run it does nothing."""

from __future__ import annotations

from bedrock.migrations import run_env
from ledger_core.chain.store.tables import metadata

VERSION_TABLE = "ledger_alembic_version"

run_env(metadata, VERSION_TABLE)
