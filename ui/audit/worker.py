"""The Inspection audit page's work off the GUI thread: the newest records and the monitoring
reports (`load_audit`, run by the page's head follower); one record's proof against the ledger
runs on the page's task (the backend's `verify`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Newest = Callable[[int | None, int], list[dict[str, Any]]]
Reports = Callable[[], list[dict[str, Any]]]


@dataclass(frozen=True)
class AuditLoad:
    newest: list[dict[str, Any]] | None  # the newest page of records (None: no record store)
    reports: list[dict[str, Any]] | None  # monitoring reports, newest first (None: not shown)
    reports_error: str = ""


def load_audit(newest: Newest | None, reports: Reports | None, page_size: int) -> AuditLoad:
    """Reports that cannot be read (no ledger yet) are a message; the records still load."""
    rows = None if newest is None else newest(None, page_size)
    if reports is None:
        return AuditLoad(rows, None)
    try:
        return AuditLoad(rows, reports())
    except Exception as exc:  # noqa: BLE001 - shown above the reports table
        return AuditLoad(rows, [], f"reports unavailable: {exc}")

