"""Alembic environment: runs on the connection handed over by `inspection.records.migrate`
(`bedrock.migrations`); imported outside an Alembic run it does nothing."""

from __future__ import annotations

from bedrock.migrations import run_env
from inspection.records import metadata

VERSION_TABLE = "inspection_alembic_version"

run_env(metadata, VERSION_TABLE)
