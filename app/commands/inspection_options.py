"""Click options shared by the inspection commands, without importing torch (fast --help)."""

from __future__ import annotations

import click

# the same names as inspection.devices.DEVICE_CHOICES (a test keeps them equal)
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")

device_option = click.option(
    "--device", default="auto", show_default=True, type=click.Choice(DEVICE_CHOICES),
    help="auto = CUDA, then MPS, then CPU; naming a device that is absent is an error.",
)


def accept_options(fn):
    """What model certificates a station attached to a ledger accepts for its weights
    (`ledger_core.attest.model_choice`; default: `<data-dir>/station.json`, else the issuer of
    the certificate used before)."""
    fn = click.option(
        "--pin-cert", default=None, metavar="CERT",
        help="Run the model only under this model certificate (id or unique prefix).",
    )(fn)
    return click.option(
        "--accept-org", "accept_orgs", multiple=True, metavar="ORG",
        help="Accept model certificates issued by ORG (repeatable).",
    )(fn)
