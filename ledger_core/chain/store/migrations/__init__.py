"""Alembic migrations of the ledger store, run programmatically by `ledger_core.chain.store.migrate`."""
