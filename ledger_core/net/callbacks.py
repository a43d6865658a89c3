"""Calling the owner's callbacks from network tasks: sync or async, and never fatal to the task."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any


async def call_safely(log: logging.Logger, callback: Callable[..., Any] | None, *args: Any) -> None:
    """Call `callback(*args)`, awaiting it when it returns an awaitable; log and swallow errors,
    so one failing callback cannot end the connection or browse task that called it."""
    if callback is None:
        return
    try:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("callback %r failed", callback)
