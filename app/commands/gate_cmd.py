"""`bcmlp gate CERT_ID WEIGHTS [--json]`: the station's trust-gate verdict on a model at the
ledger head: would it be loaded (exit 0) or refused (exit 1), and why."""

from __future__ import annotations

from pathlib import Path

import click

from app.commands.common import data_dir_option, emit_json, json_option
from app.errors import CheckFailed
from app.paths import open_data_dir
from app.services.ledger import require_cert_id
from app.station.model_gate import Candidate, GateService, ModelGate


@click.command("gate")
@click.argument("cert_ref")
@click.argument("weights", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@json_option
@data_dir_option
def gate_cmd(cert_ref, weights, as_json, data_dir) -> None:
    """Evaluate the trust gate for the model certificate CERT_REF with the weights file WEIGHTS."""
    dd = open_data_dir(data_dir)
    cert_id = require_cert_id(dd, cert_ref)
    st = GateService(dd, ModelGate(Candidate(cert_id, weights))).poll(force=True)
    if as_json:
        emit_json(st.as_dict())
    else:
        click.echo(f"height {st.height}: {'PASS' if st.active else 'REFUSED'}: {st.message}")
        for c in st.verdict.certs:
            click.echo(f"  {c['kind']:<15} {c['cert_id'][:16]} {c['status']:<8} "
                       f"trust {c['trust']['expected_ppm'] / 1e6:.3f}")
    if st.active is None:
        raise CheckFailed("the model does not pass the trust gate")
