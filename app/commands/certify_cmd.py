"""`bcmlp certify KIND PATH`: hash a file or folder, issue the certificate through the local node,
wait for the commit, print the certificate id.

The predicate is derived where the files say it (see app/services/certify.py) and completed or
overridden by `--predicate-file`. The ledger checks it against docs/design.md section 5 and refuses
with a reason."""

from __future__ import annotations

from pathlib import Path

import click

from app.commands.common import data_dir_option, hashing_bar
from app.commands.passphrase import identity_signer, passphrase_option
from app.errors import UserError
from app.paths import open_data_dir
from app.services.certify import certify, predicate_for
from app.services.ledger import open_view, require_cert_ids
from ledger_core.chain.tx import CERT_KIND_ROLE, TxError


@click.command("certify")
@click.argument("kind", type=click.Choice(sorted(CERT_KIND_ROLE)))
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@click.option("--parent", "parents", multiple=True, help="Lineage certificate id (repeat; a unique prefix works).")
@click.option("--name", default=None, help="Subject name (default: the file or folder name).")
@click.option("--version", "version", default="1", show_default=True, help="Subject version.")
@click.option("--predicate-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="JSON object with kind-specific facts (merged over what is derived from the files).")
@click.option("--valid-days", type=click.IntRange(1, 100_000), default=None, help="Validity (default: open-ended).")
@passphrase_option
@data_dir_option
def certify_cmd(kind, path, parents, name, version, predicate_file, valid_days, passphrase_file, data_dir) -> None:
    """Certify KIND (dataset, labels, data_collection, pipeline, infrastructure, model) for PATH."""
    dd = open_data_dir(data_dir)
    with open_view(dd) as view:
        lineage = require_cert_ids(view, parents, "--parent ")
    try:
        predicate = predicate_for(kind, path, predicate_file)
    except TxError as exc:
        raise UserError(f"{exc} (complete it with --predicate-file)") from None
    with hashing_bar(path.name) as progress:
        done = certify(dd, identity_signer(dd, passphrase_file), kind, path, predicate,
                       lineage=lineage, name=name, version=version, valid_days=valid_days,
                       progress=progress)
    click.echo(done.describe(), err=True)
    click.echo(done.cert_id)
