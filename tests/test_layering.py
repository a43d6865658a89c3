"""The dependency rules of docs/design.md section 2 and of the ledger core's layers, checked on the
source (AST) and at import time.

Packages: app -> ui -> {ledger_core, inspection} -> bedrock; nothing imports app; ledger_core and
inspection never import Qt, ui, app or each other; bedrock imports nothing of the project.

Layers inside ledger_core (each may import only what its row names, besides bedrock):
crypto < chain < attest; consensus and net stand on crypto; node drives them all (it gets its
rules from whoever builds the chain); sim drives consensus.
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
    "bedrock": QT | {"ui", "app", "ledger_core", "inspection", "resources"},
    "ledger_core": QT | {"ui", "app", "inspection"},
    "inspection": QT | {"ui", "app", "ledger_core"},
    "ui": {"app"},
    "resources": QT | {"ui", "app", "ledger_core", "inspection"},
}
LAYERS = {  # ledger_core subpackage -> the ledger_core subpackages it may import
    "crypto": {"crypto"},
    "chain": {"crypto", "chain"},
    "attest": {"crypto", "chain", "attest"},
    "consensus": {"crypto", "consensus"},
    "net": {"crypto", "net"},
    "node": {"crypto", "chain", "consensus", "net", "node"},
    "sim": {"crypto", "consensus", "sim"},
}


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import, `from` import (with each imported name as a possible
    submodule) or import_module/__import__ call with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in {
            "import_module", "__import__"
        } and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            names.add(node.args[0].value)
    return names


def imported_top_levels(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def ledger_layers_used(path: Path) -> set[str]:
    """The ledger_core subpackages a module imports (ledger_core itself excluded)."""
    return {
        parts[1]
        for name in imported_modules(path)
        if (parts := name.split("."))[0] == "ledger_core" and len(parts) > 1 and parts[1] in LAYERS
    }


def cases():
    for package, banned in FORBIDDEN.items():
        for path in sorted((REPO / package).rglob("*.py")):
            yield pytest.param(path, banned, id=str(path.relative_to(REPO)))


@pytest.mark.parametrize(("path", "banned"), list(cases()))
def test_module_respects_dependency_rule(path: Path, banned: set[str]):
    bad = imported_top_levels(path) & banned
    assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


def layer_cases():
    for layer, allowed in LAYERS.items():
        for path in sorted((REPO / "ledger_core" / layer).rglob("*.py")):
            yield pytest.param(path, layer, allowed, id=str(path.relative_to(REPO)))


def test_every_ledger_module_sits_in_a_layer():
    loose = [
        p.name for p in (REPO / "ledger_core").glob("*.py") if p.name != "__init__.py"
    ] + [p.name for p in (REPO / "ledger_core").iterdir() if p.is_dir() and p.name not in LAYERS
         and p.name != "__pycache__"]
    assert not loose, f"ledger_core holds modules outside its layers: {loose}"


@pytest.mark.parametrize(("path", "layer", "allowed"), list(layer_cases()))
def test_ledger_layer_imports_only_below(path: Path, layer: str, allowed: set[str]):
    bad = ledger_layers_used(path) - allowed
    assert not bad, f"{path.relative_to(REPO)} ({layer}) imports the layers {sorted(bad)}"


def test_layer_checker_catches_a_violation(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("from ledger_core.attest.gate import evaluate\nfrom ledger_core import node\n")
    assert ledger_layers_used(bad) == {"attest", "node"}


def test_rule_checker_catches_a_violation(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("import os\nfrom PySide6.QtCore import QObject\nimportlib.import_module('app.cli')\n")
    assert {"PySide6", "app"} <= imported_top_levels(bad)


def test_cores_load_without_qt():
    modules = [
        p.relative_to(REPO).with_suffix("").as_posix().replace("/", ".")
        for package in ("bedrock", "ledger_core", "inspection")
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
