"""`bcmlp revoke CERT_ID --reason TEXT`: revoke a certificate (its issuer, or any auditor)."""

from __future__ import annotations

import click

from app.commands.common import data_dir_option
from app.commands.passphrase import identity_signer, passphrase_option
from app.errors import UserError
from app.paths import open_data_dir
from app.services.revoke import revoke


@click.command("revoke")
@click.argument("cert_ref")
@click.option("--reason", required=True, help="Why (at most 200 characters), kept on the ledger.")
@passphrase_option
@data_dir_option
def revoke_cmd(cert_ref, reason, passphrase_file, data_dir) -> None:
    """Revoke the certificate CERT_REF (an id or a unique prefix of at least 8 hex digits)."""
    if not 1 <= len(reason) <= 200:
        raise UserError("--reason must have 1 to 200 characters")
    dd = open_data_dir(data_dir)
    done = revoke(dd, identity_signer(dd, passphrase_file), cert_ref, reason)
    click.echo(f"revoked {done.cert_id} at height {done.height}: {done.tx_hash}")
