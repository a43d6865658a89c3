"""The coded error base: a stable reason code, a one-line message and an exit status.

Every error that reaches a person derives from `CodedError`, so the command line translates
them in one place (`app/cli.py`) and the GUI shows `str(exc)` the same way.
"""

from __future__ import annotations


class CodedError(Exception):
    """An error with a stable `code` (for logs, JSON answers and tests) and a one-line message.

    `exit_code` is what the command line exits with: 2 for bad input or usage, 1 for a check
    that ran and failed."""

    code = "error"
    exit_code = 2

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
