"""The command line: version, help on every command, bad usage gives one line and exit 2."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from app import __version__
from app.cli import cli


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        yield prefix + (name,)
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, prefix + (name,))


def test_version(run_cli):
    code, out, _ = run_cli("--version")
    assert code == 0
    assert __version__ in out


def test_help_lists_commands(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0
    for name in cli.list_commands(click.Context(cli)):
        assert name in out


@pytest.mark.parametrize("path", list(all_commands(cli)), ids=" ".join)
def test_every_command_has_help(run_cli, path):
    code, out, err = run_cli(*path, "--help")
    assert code == 0, err
    assert "Usage:" in out


def test_unknown_command_is_one_line(run_cli):
    code, out, err = run_cli("no-such-command")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1


def test_python_dash_m_app_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "app", "--version"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0
    assert __version__ in proc.stdout


def test_cli_start_imports_no_heavy_modules():
    code = (
        "import sys\n"
        "from app.cli import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'PySide6', 'sqlalchemy', 'cv2'})\n"
        "print(heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
