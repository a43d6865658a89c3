"""Alembic environment: always runs on the connection handed over by `store.migrate`."""

from __future__ import annotations

from alembic import context

from ledger_core.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=context.config.attributes.get("version_table", "ledger_alembic_version"),
)
with context.begin_transaction():
    context.run_migrations()
