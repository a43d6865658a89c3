"""Refuses a Qt binding that loses Python's references to None and True.

PySide6 6.12.0 under Python 3.11 returns `None` from C++ void methods, and `True` from
`SignalInstance.emit()`, without the reference it hands over. Before Python 3.12 these objects
are not immortal, so every such call takes one reference away, and after some tens of thousands
of calls (minutes of live pages) Python aborts with "Fatal Python error: none_dealloc" or
"bool_dealloc". This was the abort of the window-mode demo after 68 s and 200 s (issue 11).
PySide6 6.11.3 on the same Python keeps the counts; pyproject.toml excludes 6.12 below 3.12.
"""

from __future__ import annotations

import ctypes
import sys

CALLS = 200


def lost_references(calls: int = CALLS) -> dict[str, int]:
    """References to None and True that `calls` void calls and signal emissions took away; the
    loss is given back, so measuring does not shorten the process's life."""
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        changed = Signal(object)

    emitter, target = Emitter(), QObject()
    none0, true0 = sys.getrefcount(None), sys.getrefcount(True)
    for i in range(calls):
        target.setObjectName("x")
        emitter.changed.emit(i)
    lost = {"None": none0 - sys.getrefcount(None), "True": true0 - sys.getrefcount(True)}
    incref = ctypes.PYFUNCTYPE(None, ctypes.py_object)(("Py_IncRef", ctypes.pythonapi))
    for obj, n in ((None, lost["None"]), (True, lost["True"])):
        for _ in range(max(n, 0)):
            incref(obj)
    return lost


def binding_problem() -> str | None:
    """One line for the user when this Qt binding would abort a long session, else None."""
    if sys.version_info >= (3, 12):
        return None  # None and True are immortal: a lost reference cannot free them
    lost = lost_references()
    if max(lost.values()) < CALLS // 2:
        return None
    import PySide6

    return (f"PySide6 {PySide6.__version__} on Python {sys.version.split()[0]} loses a reference "
            f"to None or True on every Qt call and would abort within minutes; install "
            f"'PySide6-Essentials<6.12' (or run on Python 3.12 or newer)")
