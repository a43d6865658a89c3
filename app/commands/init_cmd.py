"""`bcmlp init`: create or show the local identity."""

from __future__ import annotations

from pathlib import Path

import click

from app.commands.common import data_dir_option, emit_json, json_option
from app.commands.passphrase import passphrase_option, read_new_passphrase, read_passphrase
from app.errors import UserError
from app.identity import ROLES, IdentityStore
from app.logs import get_logger, setup_logging
from app.paths import open_data_dir
from ledger_core.crypto.keys import KeyFileError, key_file_format


def _key_format(path: Path) -> str:
    """The key file's scheme for --show (bcmlp-key/2, or pkcs8-pbkdf2 until its next unlock)."""
    try:
        return key_file_format(path)
    except KeyFileError:
        return "missing or unreadable"


@click.command("init")
@click.option("--org", help="Organisation (company) name.")
@click.option("--role", help=f"Ledger role: {'|'.join(ROLES)}.")
@click.option("--name", "person", default=None, help="Your name (default: the organisation).")
@passphrase_option
@click.option("--force", is_flag=True, help="Replace an existing identity (the old file is kept).")
@click.option("--show", is_flag=True, help="Print the existing identity and key id.")
@click.option(
    "--check-passphrase",
    is_flag=True,
    help="With --show: also decrypt the key with the passphrase.",
)
@json_option
@data_dir_option
def init_cmd(
    org, role, person, passphrase_file, force, show, check_passphrase, as_json, data_dir
) -> None:
    """Create the local identity: organisation, role and an encrypted Ed25519 key."""
    if not show:
        if not org or not role:
            raise UserError("init needs --org NAME and --role ROLE (or --show)")
        if role not in ROLES:
            raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    dd = open_data_dir(data_dir, create=not show)
    store = IdentityStore(dd)
    if show:
        ident = store.load()
        info = ident.describe()
        info["key_format"] = before = _key_format(store.key_path(ident))
        if check_passphrase:
            if dd.logs_dir.is_dir():
                setup_logging(dd)  # a migration of an old key file is logged
            store.unlock(read_passphrase(passphrase_file, confirm=False), ident)
            info["key_unlocked"] = "yes"
            info["key_format"] = _key_format(store.key_path(ident))
            if info["key_format"] != before:  # the unlock re-wrapped an old key file
                info["key_migrated"] = f"{before} -> {info['key_format']}"
        if as_json:
            emit_json(info)
        else:
            for k, v in info.items():
                click.echo(f"{k:>13}: {v}")
        return
    if store.exists() and not force:
        raise UserError(f"an identity already exists in {dd.root} (use --force to replace it)")
    passphrase, strength = read_new_passphrase(passphrase_file)
    setup_logging(dd)
    ident = store.create(org, person or org, role, passphrase, force=force)
    get_logger("identity").info("created identity %s (%s, %s)", ident.key_id, ident.org, ident.role)
    if as_json:
        emit_json(ident.describe())
    else:
        click.echo(f"created identity for {ident.name} ({ident.org}, {ident.role})")
        click.echo(f"key id: {ident.key_id}")
        click.echo(f"passphrase: {strength.hint}")
