"""`bcmlp demo`: run the four-company demo consortium, with the main window attached to the
operator company's node, or headless for a fixed time with a JSON summary (see app/demo.py)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import click

from app.commands.common import emit_json
from bedrock.errors import CodedError


def _progress_printer():
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    t0 = time.monotonic()

    def say(text: str) -> None:
        console.print(f"[bold cyan]demo[/] [dim]{time.monotonic() - t0:5.1f}s[/] {text}", markup=True,
                      soft_wrap=True)

    return say


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@click.command("demo")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Demo folder, one sub-folder per company (default: a new folder under the user "
                   "data directory's demo/).")
@click.option("--headless", is_flag=True, help="No window: run --duration seconds, then stop.")
@click.option("--duration", type=click.FloatRange(1, 86_400), default=60.0, show_default=True,
              help="Seconds to run with --headless, counted once the pipeline is set up.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary at the end.")
@click.option("--screenshots", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Window mode: after 6 s of inspection, save a PNG of every perspective here.")
@click.option("--soak-report", type=click.Path(path_type=Path, dir_okay=False), default=None,
              hidden=True, help="Window mode, for `bcmlp bench soak`: drive the window as a user "
                                "would and append status lines (JSON) to this file.")
def demo_cmd(data_dir, headless, duration, as_json, screenshots, soak_report) -> None:
    """A local consortium of four companies (operator, trainer, auditor, monitor), each with its
    organisation, expert and validator node on loopback, playing the certified ML pipeline.

    Demo only: the generated passphrases are stored next to the keys (<company>/passphrase, 0600).
    Ctrl+C, SIGTERM or closing the window stops every node it started.
    """
    from app.demo import Demo, default_root

    if not headless:  # before any node starts: Qt that cannot start would abort the process
        from app.gui.qt_probe import ensure_qt_can_start

        ensure_qt_can_start("bcmlp demo")
    say = _progress_printer()
    root = data_dir or default_root()
    say(f"demo folder: {root}")
    demo = Demo(root, say, inspect=headless)
    old_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    interrupted = False
    try:
        demo.setup()
        if headless:
            say(f"running for {duration:g} s")
            deadline = time.monotonic() + duration
            while time.monotonic() < deadline:
                demo.cons.check_alive()
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        else:
            _run_window(demo, say, screenshots, soak_report)
    except KeyboardInterrupt:
        interrupted = True
        say("stopping (interrupted)")
    finally:
        # a second Ctrl+C must not cut the stop short: the nodes get their SIGTERM either way
        old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            say("stopping the station and the 4 nodes")
            demo.close()
        finally:
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)
    try:
        info = demo.summary()
    except CodedError:
        if interrupted:  # stopped before the chains existed: nothing to summarise
            raise KeyboardInterrupt from None
        raise
    say(f"stopped: height {info['common_height']} on every node, app hashes "
        f"{'agree' if info['nodes_agree'] else 'DIFFER'}; {info['inspections']} inspections, "
        f"{info['anchored_batches']} anchored batches; data in {info['data_dir']}")
    if as_json:
        emit_json(info)
    if interrupted:
        raise KeyboardInterrupt


def _save_tour(window, folder: Path, say) -> None:
    """One PNG per perspective (`<key>.png`), for the README's tour."""
    from PySide6.QtWidgets import QApplication

    folder.mkdir(parents=True, exist_ok=True)
    current = window.current_perspective()
    for key in window.perspective_keys():
        window.show_perspective(key)
        settle = time.monotonic() + 1.5  # pages that poll while shown (Network) get their data
        while time.monotonic() < settle:
            QApplication.processEvents()
            time.sleep(0.05)
        window.grab().save(str(folder / f"{key}.png"))
    window.show_perspective(current)
    say(f"screenshots of {len(window.perspective_keys())} perspectives in {folder}")


def _run_window(demo, say, screenshots: Path | None = None, soak_report: Path | None = None) -> None:
    """The main window on the operator's data dir; inspection starts once the gate passes."""
    from PySide6.QtCore import QTimer

    from app.demo import REPLAY_FPS, SAMPLES, make_inspector
    from app.gui.inspection_pages import OperatorServices
    from app.gui.window import build_main_window, ensure_app, show_main_window

    op = demo.cons.members["operator"].dd
    station = demo.station

    class GatedServices(OperatorServices):
        """The Operator perspective's backend: only a gate-passing model, records naming its
        certificates (anchored by the station)."""

        def make_inspector(self, order):
            if not station.active:
                raise RuntimeError("the model does not pass the trust gate")
            if self._engine is None:
                from app.station import services as svc
                from inspection.engine import InferenceEngine

                self._engine = InferenceEngine(svc.model(self.model_path), self.device)
            return make_inspector(self.dd, demo.ids, order, engine=self._engine)

    app = ensure_app()
    ctx = build_main_window(op)
    page = ctx.window.perspective_widget("operator")
    page.backend = GatedServices(op)
    ctx.window.show_perspective("operator")
    ctx.window.setWindowTitle(f"{ctx.window.windowTitle()} (demo: operator company)")
    show_main_window(ctx)
    driver = None
    if soak_report is not None:
        from app.gui.soak_driver import SoakDriver

        driver = SoakDriver(ctx.window, soak_report)
        driver.start()
    state = {"started": False, "since": 0.0, "shot": screenshots is None}

    def tick() -> None:
        if station.active and not state["started"]:
            page.source.setCurrentText(str(SAMPLES))
            page.rate.setValue(REPLAY_FPS)
            page.loop.setChecked(True)
            state["started"] = page.start()
            state["since"] = time.monotonic()
        elif state["started"] and not state["shot"] and time.monotonic() - state["since"] > 6:
            state["shot"] = True
            _save_tour(ctx.window, screenshots, say)
        elif not station.active and state["started"]:
            page.stop()
            state["started"] = False
        try:
            demo.cons.check_alive()
        except Exception as exc:  # noqa: BLE001 - a node died: say so and close
            say(str(exc))
            app.quit()

    timer = QTimer()
    timer.timeout.connect(tick)  # also lets Python run its signal handlers inside Qt's loop
    timer.start(300)
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    try:
        app.exec()
    finally:
        timer.stop()
        if driver is not None:
            driver.stop()
        page.shutdown()
        signal.signal(signal.SIGINT, signal.default_int_handler)
