"""Options and helpers shared by the sub-commands: the click options, JSON output and the hashing
progress bar (rich, on stderr). Imported at every start: nothing heavy at module level."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from app.services.hashing import HashProgress

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=True, dir_okay=True),
    default=None,
    help="Data directory (default: $BCMLP_DATA_DIR, else the user data directory).",
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")

db_help = "SQLAlchemy URL of the ledger database (default: sqlite <data-dir>/ledger.sqlite)."


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, sort_keys=True))


def print_fields(obj: dict[str, Any], as_json: bool, width: int = 0) -> None:
    """A result as JSON, or one `key: value` line each (keys right-aligned to `width`)."""
    if as_json:
        emit_json(obj)
        return
    for k, v in obj.items():
        click.echo(f"{k:>{width}}: {v}")


@contextlib.contextmanager
def hashing_bar(name: str, quiet: bool = False) -> Iterator[HashProgress | None]:
    """A progress callback for hashing that draws a transient bar on stderr (a terminal only)
    from its first call; None when `quiet`."""
    if quiet:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    bar = Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(), transient=True, console=console,
        disable=not console.is_terminal,
    )
    tasks: list = []

    def update(done: int, total: int) -> None:
        if not tasks:
            bar.start()
            tasks.append(bar.add_task(f"hashing {name}", total=None))
        bar.update(tasks[0], completed=done, total=total)

    try:
        yield update
    finally:
        if tasks:
            bar.stop()
