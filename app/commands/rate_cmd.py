"""`bcmlp rate SUBJECT --score 0..100 --evidence TX_OR_CERT_ID`: a signed rating of a participant
(key id), an organisation (its id) or a certificate (its id), committed through the local node."""

from __future__ import annotations

import click

from app.commands.common import data_dir_option
from app.commands.passphrase import identity_signer, passphrase_option
from app.errors import UserError
from app.paths import open_data_dir
from app.services.rating import rate

HEX = set("0123456789abcdef")


@click.command("rate")
@click.argument("subject")
@click.option("--score", type=click.IntRange(0, 100), required=True, help="0 (distrust) .. 100 (trust).")
@click.option("--evidence", required=True, help="The transaction or certificate id this rating judges.")
@click.option("--comment", default=None, help="Short note (at most 500 characters).")
@passphrase_option
@data_dir_option
def rate_cmd(subject, score, evidence, comment, passphrase_file, data_dir) -> None:
    """Rate SUBJECT (a participant key id, an organisation id or a certificate id)."""
    evidence = evidence.strip().lower()
    if len(evidence) != 64 or not set(evidence) <= HEX:
        raise UserError("--evidence must be a 64-hex transaction or certificate id")
    if comment is not None and len(comment) > 500:
        raise UserError("--comment has more than 500 characters")
    dd = open_data_dir(data_dir)
    done = rate(dd, identity_signer(dd, passphrase_file), subject, score, evidence, comment)
    click.echo(f"rated {done.subject_kind} {subject[:16]} {score}/100, committed at height {done.height}: "
               f"{done.tx_hash}")
