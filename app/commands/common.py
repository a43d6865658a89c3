"""Options and helpers shared by the sub-commands."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from app.errors import UserError

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=True, dir_okay=True),
    default=None,
    help="Data directory (default: $BCMLP_DATA_DIR, else the user data directory).",
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, sort_keys=True))


def read_passphrase(passphrase_file: Path | None, confirm: bool, env_var: str) -> str:
    """--passphrase-file, else the environment variable, else a masked prompt on a terminal."""
    if passphrase_file is not None:
        try:
            text = passphrase_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read passphrase file {passphrase_file}: {exc}") from None
        return text.rstrip("\r\n")
    env = os.environ.get(env_var)
    if env:
        return env
    if not sys.stdin.isatty():
        raise UserError(
            f"a passphrase is needed: use --passphrase-file, set {env_var}, or run on a terminal"
        )
    return click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
