"""`bcmlp gui`: the main window, or its self-test."""

from __future__ import annotations

import click

from app.commands.common import data_dir_option
from app.paths import open_data_dir


@click.command("gui")
@data_dir_option
@click.option("--self-test", is_flag=True, help="Build the window, check resources, print READY.")
@click.option("--qt-probe", is_flag=True, hidden=True,
              help="Internal: start Qt and exit (the frozen app's check in app/gui/qt_probe.py).")
def gui_cmd(data_dir=None, self_test: bool = False, qt_probe: bool = False) -> None:
    """Open the main window."""
    from app.gui.qt_probe import child_main, ensure_qt_can_start

    if qt_probe:
        child_main()
    ensure_qt_can_start("bcmlp gui")
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
    from app.gui.window import build_main_window, ensure_app, show_main_window
    from app.logs import setup_logging

    setup_logging(dd)
    app = ensure_app()
    ctx = build_main_window(dd)
    show_main_window(ctx)
    raise SystemExit(app.exec())
