"""Rotating log files under <data-dir>/logs."""

from __future__ import annotations

import logging
import logging.handlers

from app.paths import DataDir

_configured: set[str] = set()


def setup_logging(dd: DataDir, level: int = logging.INFO) -> None:
    path = dd.logs_dir / "bcmlp.log"
    if str(path) in _configured:
        return
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=2 * 1024 * 1024, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(process)d: %(message)s"))
    root = logging.getLogger("bcmlp")
    root.addHandler(handler)
    root.setLevel(level)
    _configured.add(str(path))


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"bcmlp.{name}")
