"""Builds the main window: the composition of perspectives, settings and back ends."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtWidgets import QApplication, QMessageBox

from app import __version__
from app.errors import UserError
from app.gui.attest_pages import audit_page, certificates_page, trust_page
from app.gui.identity_backend import StoreIdentityBackend
from app.gui.inspection_pages import models_page, operator_page
from app.gui.ledger_page import ledger_page, network_page
from app.identity import IdentityStore
from app.paths import DataDir
from app.settings import Settings
from ui.binding_check import binding_problem
from ui.gui_thread_gc import freeze_long_lived, install_gui_thread_gc
from ui.identity.page import IdentityPage
from ui.main_window import MainWindow
from ui.settings.page import SettingsPage
from ui.theme import apply_theme

# The perspective a first start opens, by the role of the local identity (docs/design.md section 1).
ROLE_PERSPECTIVE = {
    "operator": "operator",
    "auditor": "certificates",
    "trainer": "models",
    "monitor": "network",
}


def _local_role(dd: DataDir) -> str | None:
    store = IdentityStore(dd)
    try:
        return store.load().role if store.exists() else None
    except Exception:  # a corrupt identity is reported on the Identity page itself
        return None


@dataclass
class GuiContext:
    window: MainWindow
    settings: Settings
    warnings: list[str] = field(default_factory=list)


def ensure_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication, created once; from then on the cyclic GC runs on its thread only."""
    app = QApplication.instance()
    problem = binding_problem()
    if problem:
        raise UserError(problem)
    if app is None:
        app = QApplication(argv or ["bcmlp"])
        app.setApplicationName("bcmlp")
        app.setOrganizationName("bcmlp")
        app.setApplicationVersion(__version__)
    install_gui_thread_gc()
    return app


def build_main_window(dd: DataDir) -> GuiContext:
    """Create the window with every perspective; problems become warnings, never a crash."""
    app = ensure_app()
    settings, settings_error = Settings.load_or_defaults(dd.settings_file)
    warnings = []
    if settings_error:
        warnings.append(f"{settings_error}. Using default settings; the file is left as it is.")
    apply_theme(app, settings.get("theme"))
    window = MainWindow(settings, __version__)
    window.add_perspective(
        "operator", "Operator", operator_page(dd), "Live inspection: OK/NOK per workpiece"
    )
    window.add_perspective("ledger", "Ledger", ledger_page(dd), "Blocks, transactions and chain verification")
    window.add_perspective(
        "certificates", "Certificates", certificates_page(dd), "Certificates, lineage and verification"
    )
    window.add_perspective("trust", "Trust", trust_page(dd), "Ratings and trust in participants and artifacts")
    window.add_perspective("audit", "Inspection audit", audit_page(dd), "Prove one workpiece's anchored result")
    window.add_perspective("network", "Network", network_page(dd), "Peers, validators and consensus of the node")
    window.add_perspective("models", "Models", models_page(dd), "Model cards and training")
    window.add_perspective(
        "identity",
        "Identity",
        IdentityPage(StoreIdentityBackend(IdentityStore(dd))),
        "Local organisation, role and key",
    )
    window.add_perspective(
        "settings",
        "Settings",
        SettingsPage(
            window,
            {
                "Data directory": str(dd.root),
                "Settings file": str(dd.settings_file),
                "Log files": str(dd.logs_dir),
            },
        ),
        "Theme and locations",
    )
    window.restore_state(ROLE_PERSPECTIVE.get(_local_role(dd)))
    window.statusBar().showMessage(f"data directory: {dd.root}")
    return GuiContext(window, settings, warnings)


def show_warnings(ctx: GuiContext) -> None:
    for text in ctx.warnings:
        box = QMessageBox(QMessageBox.Icon.Warning, "bcmlp", text, parent=ctx.window)
        box.open()


def show_main_window(ctx: GuiContext) -> None:
    """Show the built window and its warnings; what exists now lives as long as the process, so
    it is frozen out of the GUI thread's collections (they stay short over a shift)."""
    ctx.window.show()
    show_warnings(ctx)
    freeze_long_lived()
