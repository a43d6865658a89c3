"""The passphrase of the local identity's key on the command line: --passphrase-file, else
$BCMLP_PASSPHRASE, else a masked prompt; a new key's passphrase must pass the strength policy
(ledger_core.crypto.passphrase_policy); and the identity's signer for the services."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from app.errors import UserError
from app.identity import ENV_PASSPHRASE
from app.paths import DataDir
from app.services.signing import SignerSource, read_passphrase_file, signer_source
from ledger_core.crypto.passphrase_policy import Strength, require_acceptable

passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"Read the key passphrase from this file (else ${ENV_PASSPHRASE}, else a prompt).",
)


def read_passphrase(
    passphrase_file: Path | None, confirm: bool, env_var: str = ENV_PASSPHRASE
) -> str:
    """--passphrase-file, else the environment variable, else a masked prompt on a terminal."""
    if passphrase_file is not None:
        return read_passphrase_file(passphrase_file)
    env = os.environ.get(env_var)
    if env:
        return env
    if not sys.stdin.isatty():
        raise UserError(
            f"a passphrase is needed: use --passphrase-file, set {env_var}, or run on a terminal"
        )
    return click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)


def read_new_passphrase(passphrase_file: Path | None) -> tuple[str, Strength]:
    """The passphrase for a new key (asked twice at a prompt) and its strength; a weak one raises
    WeakPassphrase (one line, exit code 2) before anything is written."""
    passphrase = read_passphrase(passphrase_file, confirm=True)
    return passphrase, require_acceptable(passphrase)


def identity_signer(dd: DataDir, passphrase_file: Path | None) -> SignerSource:
    """The local identity's signer, its passphrase asked (as above) only when a service signs."""
    return signer_source(dd, lambda: read_passphrase(passphrase_file, confirm=False))
