"""Alembic schema upgrades run in-process, one runner for the stores of both cores.

A store calls `upgrade(engine, its_migrations_folder)`; that folder's env.py is one call,
`run_env(metadata, "<store>_alembic_version")`, which runs the migrations on the connection
`upgrade` handed over and records the revision in the store's own version table, so several
stores can share one database. Imported outside an Alembic command (the layering test imports
every module) env.py does nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData


def upgrade(engine: Engine, script_location: Path) -> None:
    """Create or upgrade a schema to the newest revision of the migrations in `script_location`."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _config() -> Any:
    from alembic import context

    try:
        return context.config
    except AttributeError:  # not inside an Alembic command
        return None


def run_env(metadata: MetaData, version_table: str) -> None:
    """The body of a migrations env.py: run on the connection of `upgrade` (a `version_table`
    attribute of the Alembic config names another version table)."""
    from alembic import context

    config = _config()
    if config is None:
        return
    context.configure(
        connection=config.attributes["connection"],
        target_metadata=metadata,
        version_table=config.attributes.get("version_table", version_table),
    )
    with context.begin_transaction():
        context.run_migrations()
