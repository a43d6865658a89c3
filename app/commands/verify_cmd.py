"""`bcmlp verify PATH_OR_CERT_ID`: verify a certificate check by check (exit 0 all pass, 1 not);
`--export-bundle FILE` writes its proof bundle, `--bundle FILE --genesis G` verifies one offline;
`bcmlp verify record RECORD_ID` proves one anchored inspection record.

Offline, a bundle proves signatures (issuer keys and roles from the genesis file), the commit by
the genesis validators, inclusion and file digests: exit 0 means those are proven (PROVEN).
Revocation, trust and the export time are the exporter's statements: listed apart, never counted
as proven (a statement against the certificate still fails it, exit 1)."""

from __future__ import annotations

from pathlib import Path

import click

from app.commands.common import data_dir_option, emit_json, hashing_bar, json_option
from app.errors import CheckFailed, UserError
from app.paths import open_data_dir
from app.services.verify import verify_bundle, verify_on_ledger
from ledger_core.attest.proofs import Report


def _print(rep: Report, as_json: bool, what: str) -> None:
    if as_json:
        emit_json(rep.as_dict())
    else:
        click.echo(f"{what}: {rep.verdict.upper()}")
        unproven = rep.unproven
        pad = "    " if unproven else "  "
        if unproven:
            click.echo("  proven:")
        for c in rep.proven:
            click.echo(f"{pad}[{'ok' if c.ok else 'FAIL'}] {c.name}: {c.reason}")
        if unproven:
            click.echo("  not provable offline (the exporter's statements, not counted as proven):")
        for c in unproven:
            click.echo(f"{pad}[{'stated ok' if c.ok else 'stated FAIL'}] {c.name}: {c.reason}")
    if not rep.ok:
        bad = [c for c in rep.checks if not c.ok]
        first = next((c for c in bad if c.proven), bad[0])  # a failed proof before a statement
        raise CheckFailed(f"{what} does not verify: {', '.join(c.name for c in bad)} "
                          f"({first.name}: {first.reason})")


@click.command("verify")
@click.argument("target", nargs=-1)
@click.option("--cert", "cert_ref", default=None, help="With a PATH: the certificate the files must match.")
@click.option("--export-bundle", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the certificate's proof bundle to this file.")
@click.option("--bundle", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Verify this proof bundle offline (needs --genesis).")
@click.option("--genesis", "genesis_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, help="The chain's genesis.json, for --bundle.")
@json_option
@data_dir_option
def verify_cmd(target, cert_ref, export_bundle, bundle, genesis_path, as_json, data_dir) -> None:
    """Verify PATH_OR_CERT_ID, a proof bundle (--bundle), or `record RECORD_ID`."""
    if bundle is not None:
        if genesis_path is None:
            raise UserError("--bundle needs --genesis G (the chain's genesis.json)")
        local = Path(target[0]) if target else None
        with hashing_bar(local.name if local else "") as progress:
            done = verify_bundle(bundle, genesis_path, local, progress)
        return _print(done.report, as_json, done.what)
    if len(target) == 2 and target[0] == "record":
        from app.station.anchoring import verify_record

        return _print(verify_record(open_data_dir(data_dir), target[1]), as_json, f"record {target[1]}")
    if len(target) != 1:
        raise UserError("give one PATH or CERT_ID (or `record RECORD_ID`, or --bundle FILE --genesis G)")
    dd = open_data_dir(data_dir)
    with hashing_bar(Path(target[0]).name, quiet=as_json) as progress:
        done = verify_on_ledger(dd, target[0], cert_ref, export_bundle, progress)
    _print(done.report, as_json, done.what)
