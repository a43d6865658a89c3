"""The command line that runs this same bcmlp again as a child process (nodes of the demo and
the benchmarks): the bundle's own binary when frozen, else this interpreter with `-m app`."""

from __future__ import annotations

import sys


def bcmlp_command() -> list[str]:
    return [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "app"]
