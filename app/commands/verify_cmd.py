"""`bcmlp verify PATH_OR_CERT_ID`: verify a certificate check by check (exit 0 all pass, 1 not);
`--export-bundle FILE` writes its proof bundle, `--bundle FILE --genesis G` verifies one offline;
`bcmlp verify record RECORD_ID` proves one anchored inspection record."""

from __future__ import annotations

from pathlib import Path

import click

from app.commands.cert_common import hash_path, open_view, resolve_cert_id
from app.commands.common import data_dir_option, emit_json, json_option
from app.commands.ledger_common import load_genesis
from app.errors import CheckFailed, UserError
from app.paths import open_data_dir
from bedrock.atomic import write_bytes_atomic
from bedrock.canonical import EncodingError, canonical, decode
from ledger_core.attest.proofs import BundleError, Report, build_bundle, check_bundle
from ledger_core.attest.queries import newest_with_digest

MAX_BUNDLE_BYTES = 64 * 1024 * 1024


def _print(rep: Report, as_json: bool, what: str) -> None:
    if as_json:
        emit_json(rep.as_dict())
    else:
        click.echo(f"{what}: {'VERIFIED' if rep.ok else 'FAILED'}")
        for c in rep.checks:
            click.echo(f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.reason}")
    if not rep.ok:
        raise CheckFailed(f"{what} does not verify: " + ", ".join(c.name for c in rep.checks if not c.ok))


def _read_bundle(path: Path):
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_BUNDLE_BYTES:
            raise UserError(f"{path} is larger than {MAX_BUNDLE_BYTES} bytes")
        return decode(raw, max_bytes=MAX_BUNDLE_BYTES)
    except OSError as exc:
        raise UserError(f"cannot read bundle {path}: {exc}") from None
    except EncodingError as exc:
        raise UserError(f"{path} is not a proof bundle (canonical JSON): {exc}") from None


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
        try:
            rep = check_bundle(_read_bundle(bundle), load_genesis(genesis_path),
                               local_digest=hash_path(Path(target[0])).digest if target else None)
        except BundleError as exc:
            raise UserError(str(exc)) from None
        return _print(rep, as_json, f"bundle {bundle.name}")
    if len(target) == 2 and target[0] == "record":
        from app.station.anchoring import verify_record

        return _print(verify_record(open_data_dir(data_dir), target[1]), as_json, f"record {target[1]}")
    if len(target) != 1:
        raise UserError("give one PATH or CERT_ID (or `record RECORD_ID`, or --bundle FILE --genesis G)")
    dd = open_data_dir(data_dir)
    view = open_view(dd)
    try:
        ref = target[0]
        local = None
        cert_id = resolve_cert_id(view, ref) if not Path(ref).exists() else None
        if cert_id is None:
            path = Path(ref)
            if not path.exists():
                raise UserError(f"{ref} is neither a certificate on the ledger nor a file or folder")
            local = hash_path(path, quiet=as_json).digest
            if cert_ref is not None:
                cert_id = resolve_cert_id(view, cert_ref)
                if cert_id is None:
                    raise UserError(f"--cert {cert_ref}: no such certificate on the ledger")
            else:
                cert_id = newest_with_digest(view.live.get, view.live.keys, local)
                if cert_id is None:
                    rep = Report("")
                    rep.add("files", False, f"no certificate on the ledger has the digest {local[:16]} of {path}")
                    return _print(rep, as_json, str(path))
        b = build_bundle(view.store, view.genesis, view.live, cert_id)
        if export_bundle is not None:
            write_bytes_atomic(export_bundle, canonical(b), mode=0o644)
        try:
            rep = check_bundle(b, view.genesis, view.live, local)
        except BundleError as exc:  # the local ledger itself holds something malformed
            raise UserError(str(exc)) from None
        _print(rep, as_json, f"certificate {cert_id}")
    finally:
        view.close()
