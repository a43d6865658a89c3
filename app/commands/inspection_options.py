"""Click options shared by the inspection commands, without importing torch (fast --help)."""

from __future__ import annotations

import click

# the same names as inspection.devices.DEVICE_CHOICES (a test keeps them equal)
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")

device_option = click.option(
    "--device", default="auto", show_default=True, type=click.Choice(DEVICE_CHOICES),
    help="auto = CUDA, then MPS, then CPU; naming a device that is absent is an error.",
)
