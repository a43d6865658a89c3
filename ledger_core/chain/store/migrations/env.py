"""Alembic environment: always runs on the connection handed over by `store.migrate`.

Imported outside an Alembic run (e.g. by the layering test) it does nothing.
"""

from __future__ import annotations

from alembic import context

from ledger_core.chain.store.tables import metadata


def run_migrations(config) -> None:
    context.configure(
        connection=config.attributes["connection"],
        target_metadata=metadata,
        version_table=config.attributes.get("version_table", "ledger_alembic_version"),
    )
    with context.begin_transaction():
        context.run_migrations()


try:
    _config = context.config
except AttributeError:  # not inside an Alembic command
    _config = None
if _config is not None:
    run_migrations(_config)
