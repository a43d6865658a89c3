"""The dependency rule of DESIGN.md section 2, checked on the source (AST) and at import time.

app -> ui -> {ledger_core, inspection}; nothing imports app; ledger_core and inspection never
import Qt, ui, app or each other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
QT = {"PySide6", "PyQt5", "PyQt6", "PySide2", "shiboken6", "pyqtgraph", "superqt", "qtpy"}
FORBIDDEN = {
    "ledger_core": QT | {"ui", "app", "inspection"},
    "inspection": QT | {"ui", "app", "ledger_core"},
    "ui": {"app"},
    "resources": QT | {"ui", "app", "ledger_core", "inspection"},
}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in {
            "import_module", "__import__"
        } and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            names.add(node.args[0].value.split(".")[0])
    return names


def cases():
    for package, banned in FORBIDDEN.items():
        for path in sorted((REPO / package).rglob("*.py")):
            yield pytest.param(path, banned, id=str(path.relative_to(REPO)))


@pytest.mark.parametrize(("path", "banned"), list(cases()))
def test_module_respects_dependency_rule(path: Path, banned: set[str]):
    bad = imported_top_levels(path) & banned
    assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


def test_rule_checker_catches_a_violation(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("import os\nfrom PySide6.QtCore import QObject\nimportlib.import_module('app.cli')\n")
    assert {"PySide6", "app"} <= imported_top_levels(bad)


def test_cores_load_without_qt():
    modules = [
        p.relative_to(REPO).with_suffix("").as_posix().replace("/", ".")
        for package in ("ledger_core", "inspection")
        for p in (REPO / package).rglob("*.py")
        if p.name != "__main__.py"
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m.removesuffix('.__init__'))\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in {'PySide6', 'pyqtgraph', 'ui', 'app'})\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
