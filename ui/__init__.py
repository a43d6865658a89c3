"""PySide6 + pyqtgraph widgets, Qt item models and Qt workers. Never imports `app`."""
