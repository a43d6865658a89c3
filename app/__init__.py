"""Composition root of bcmlp: command line, settings, data directory, wiring of ui and cores."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bcmlp")
except PackageNotFoundError:  # running from a source tree or a frozen bundle without metadata
    __version__ = "0.1.0"
