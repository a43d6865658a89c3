"""`bcmlp rate SUBJECT --score 0..100 --evidence TX_OR_CERT_ID`: a signed rating of a participant
(key id), an organisation (its id) or a certificate (its id), committed through the local node."""

from __future__ import annotations

import click

from app.commands.cert_common import local_signer, open_view, passphrase_option, submit
from app.commands.common import data_dir_option
from app.errors import UserError
from app.paths import open_data_dir

HEX = set("0123456789abcdef")


def subject_kind(view, subject: str) -> str:
    for kind, table in (("cert", "cert"), ("participant", "participant"), ("org", "org")):
        if view.live.get(table, subject) is not None:
            return kind
    raise UserError(f"{subject!r} is neither a certificate, a participant key id nor an organisation")


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
    view = open_view(dd)
    try:
        kind = subject_kind(view, subject.strip())
    finally:
        view.close()
    payload = {"subject_kind": kind, "subject": subject.strip(), "judges": evidence,
               "positive": score * 10, "negative": 1000 - score * 10}
    if comment:
        payload["comment"] = comment
    tx, ans = submit(dd, local_signer(dd, passphrase_file), "rating.submit", payload)
    click.echo(f"rated {kind} {subject[:16]} {score}/100, committed at height {ans.get('height')}: {tx.hash}")
