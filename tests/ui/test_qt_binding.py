"""The installed Qt binding keeps Python's reference counts (ui/binding_check.py): PySide6
6.12.0 on Python 3.11 does not, and a long-running window then aborts in none_dealloc."""

from __future__ import annotations

import sys

import pytest

from ui import binding_check


def test_the_installed_pyside_keeps_the_reference_counts_of_none_and_true():
    lost = binding_check.lost_references()
    assert max(lost.values()) < binding_check.CALLS // 2, binding_check.binding_problem()
    assert binding_check.binding_problem() is None


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None and True are immortal from 3.12")
def test_a_leaking_binding_is_refused_with_one_line(monkeypatch):
    from app.errors import UserError
    from app.gui.window import ensure_app

    monkeypatch.setattr(binding_check, "lost_references", lambda calls=0: {"None": 200, "True": 0})
    message = binding_check.binding_problem()
    assert "loses a reference" in message and "PySide6-Essentials<6.12" in message
    assert "\n" not in message
    with pytest.raises(UserError, match="would abort within minutes"):
        ensure_app()
