"""`bcmlp trust SUBJECT [--json]`: the subjective-logic opinion on a participant, an organisation
or a certificate at the ledger head, with which ratings counted and with what weight."""

from __future__ import annotations

import click

from app.commands.common import data_dir_option, emit_json, json_option
from app.paths import open_data_dir
from app.services.queries import subject_trust
from ledger_core.attest.trust import PPM


def _f(ppm: int) -> str:
    return f"{ppm / PPM:.3f}"


@click.command("trust")
@click.argument("subject")
@json_option
@data_dir_option
def trust_cmd(subject, as_json, data_dir) -> None:
    """Show the trust in SUBJECT and why."""
    st = subject_trust(open_data_dir(data_dir), subject)
    out, op = st.info, st.opinion
    if as_json:
        return emit_json(out)
    click.echo(f"{out['kind']} {out['subject']} at height {out['height']}: expected trust {_f(out['expected_ppm'])} "
               f"(threshold {_f(out['threshold_ppm'])}, {'passes' if out['passes'] else 'below'})")
    click.echo(f"  belief {_f(op.belief_ppm)}  disbelief {_f(op.disbelief_ppm)}  uncertainty {_f(op.uncertainty_ppm)}"
               f"  base rate {_f(out.get('issuer_expected_ppm', op.base_rate_ppm))}"
               + ("  (the issuer's trust)" if st.is_cert else ""))
    if not op.contributions:
        click.echo("  no ratings yet: fully uncertain")
    for c in op.contributions:
        click.echo(f"  rating {c.score:3d} by {c.rater[:16]} ({c.rater_org}) at height {c.height}: "
                   f"weight {_f(c.weight_ppm)}, decay {_f(c.decay_ppm)}, evidence {c.evidence[:16]}")
