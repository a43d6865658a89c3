"""Cancellation of long work: a callable the worker polls and the exception it raises.

Long jobs (chain verification, manifest hashing, training) take `cancel: CancelCheck | None`
and call `raise_if_cancelled(cancel, what)` between steps; nothing half-done is written.
"""

from __future__ import annotations

from collections.abc import Callable

from bedrock.errors import CodedError

CancelCheck = Callable[[], bool]


class Cancelled(CodedError):
    """The person (or the shutting-down window) asked the job to stop."""

    code = "cancelled"
    exit_code = 1


def raise_if_cancelled(cancel: CancelCheck | None, what: str = "cancelled") -> None:
    if cancel is not None and cancel():
        raise Cancelled(what)
