"""`bcmlp gui`: the main window, or its self-test."""

from __future__ import annotations

import os
import sys

import click

from app.commands.common import data_dir_option
from app.errors import UserError
from app.paths import open_data_dir


def check_display() -> None:
    """Qt aborts the process without a display; say so in one line instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise UserError(
            "no display found (DISPLAY and WAYLAND_DISPLAY are unset): run on a desktop, "
            "or under `xvfb-run -a bcmlp gui`"
        )


@click.command("gui")
@data_dir_option
@click.option("--self-test", is_flag=True, help="Build the window, check resources, print READY.")
def gui_cmd(data_dir=None, self_test: bool = False) -> None:
    """Open the main window."""
    if self_test:
        from app.selftest import run_self_test

        try:
            model_line = run_self_test(data_dir)
        except Exception as exc:
            click.echo(f"bcmlp: self-test failed: {exc}", err=True)
            raise SystemExit(1) from None
        click.echo(model_line)
        click.echo("READY")
        return
    dd = open_data_dir(data_dir)
    check_display()
    from app.gui import build_main_window, ensure_app, show_warnings
    from app.logs import setup_logging

    setup_logging(dd)
    app = ensure_app()
    ctx = build_main_window(dd)
    ctx.window.show()
    show_warnings(ctx)
    raise SystemExit(app.exec())
