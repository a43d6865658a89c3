"""Errors the command line turns into one line on stderr and an exit code (DESIGN.md section 9)."""

from __future__ import annotations


class BcmlpError(Exception):
    """Base of the errors that are reported as one line, never a traceback."""

    exit_code = 2


class UserError(BcmlpError):
    """Bad usage or bad input: exit code 2."""

    exit_code = 2


class CheckFailed(BcmlpError):
    """A verification or check failed: exit code 1."""

    exit_code = 1
