"""The app's own coded errors (docs/design.md section 9): bad usage or input (exit 2) and failed
checks (exit 1). Like every `bedrock.errors.CodedError`, the command line turns them into one line
on stderr and their `exit_code` in one place (`app/cli.py`)."""

from __future__ import annotations

from bedrock.errors import CodedError


class BcmlpError(CodedError):
    """Base of the app's errors that are reported as one line, never a traceback."""

    code = "error"
    exit_code = 2


class UserError(BcmlpError):
    """Bad usage or bad input: exit code 2."""

    code = "bad_input"
    exit_code = 2


class CheckFailed(BcmlpError):
    """A verification or check failed: exit code 1."""

    code = "check_failed"
    exit_code = 1
