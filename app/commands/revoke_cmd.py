"""`bcmlp revoke CERT_ID --reason TEXT`: revoke a certificate in the signer's scope (its issuer, or
an auditor of the issuer's organisation); out of scope an auditor files a suspension instead, and
says so. `bcmlp revoke --confirm CERT_ID` / `--lift CERT_ID`: vote on an open suspension (a
majority of the organisations decides; the filing organisation may lift its own at once)."""

from __future__ import annotations

import click

from app.commands.common import data_dir_option
from app.commands.passphrase import identity_signer, passphrase_option
from app.errors import UserError
from app.paths import open_data_dir
from app.services.revoke import revoke, vote

_SAID = {
    "revoked": "revoked {id} at height {h}: {tx}",
    "suspended": (
        "suspended {id} at height {h} (out of this organisation's scope: "
        "a majority of the organisations confirms or lifts it): {tx}"
    ),
    "confirm": "voted to confirm the revocation of {id} at height {h}: {tx}",
    "lift": "voted to lift the suspension of {id} at height {h}: {tx}",
}


@click.command("revoke")
@click.argument("cert_ref")
@click.option("--reason", default=None, help="Why (at most 200 characters), kept on the ledger.")
@click.option(
    "--confirm",
    is_flag=True,
    help="Vote to confirm the open suspension of CERT_REF (it becomes revoked at a majority).",
)
@click.option(
    "--lift",
    is_flag=True,
    help="Vote to lift the open suspension of CERT_REF (it becomes active at a majority).",
)
@passphrase_option
@data_dir_option
def revoke_cmd(cert_ref, reason, confirm, lift, passphrase_file, data_dir) -> None:
    """Revoke (or, out of scope, suspend) the certificate CERT_REF (an id or a unique prefix of at
    least 8 hex digits), or vote on its suspension with --confirm / --lift."""
    if confirm and lift:
        raise UserError("give --confirm or --lift, not both")
    side = "confirm" if confirm else "lift" if lift else None
    if side is not None:
        if reason is not None:
            raise UserError("--reason goes with a revocation, not with --confirm or --lift")
        dd = open_data_dir(data_dir)
        done = vote(dd, identity_signer(dd, passphrase_file), cert_ref, side)
    else:
        if reason is None or not 1 <= len(reason) <= 200:
            raise UserError(
                "--reason must have 1 to 200 characters (or vote with --confirm / --lift)"
            )
        dd = open_data_dir(data_dir)
        done = revoke(dd, identity_signer(dd, passphrase_file), cert_ref, reason)
    click.echo(_SAID[done.action].format(id=done.cert_id, h=done.height, tx=done.tx_hash))
    click.echo(f"status: {done.status}")
