"""Alembic migrations of the inspection records schema (version table inspection_alembic_version)."""
