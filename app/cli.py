"""The `bcmlp` command line: a click group whose commands live in app/commands/.

Errors become one line on stderr, here and nowhere else: every `CodedError` (the app's, the
ledger's and the inspection pipeline's) exits with its `exit_code` (2 for bad usage or input, 1
for a failed check), and so does a file that is missing, unreadable or not what it should be (2).
"""

from __future__ import annotations

import sys

import click

from app import __version__
from app.commands.gui_cmd import gui_cmd
from app.commands.lazy import LazyGroup
from bedrock.errors import CodedError

# OSErrors that mean a path given on the command line does not fit (exit 2, like bad input)
BAD_PATH_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
                   PermissionError)

# Each command is imported only when it runs: name -> "module:attribute".
COMMANDS = {
    "anchor": "app.commands.anchor_cmd:anchor_cmd",
    "bench": "app.commands.bench_cmd:bench_cmd",
    "certify": "app.commands.certify_cmd:certify_cmd",
    "chain": "app.commands.chain_cmd:chain_cmd",
    "demo": "app.commands.demo_cmd:demo_cmd",
    "evaluate": "app.commands.evaluate_cmd:evaluate_cmd",
    "gate": "app.commands.gate_cmd:gate_cmd",
    "genesis": "app.commands.genesis_cmd:genesis_cmd",
    "gui": "app.commands.gui_cmd:gui_cmd",
    "init": "app.commands.init_cmd:init_cmd",
    "inspect": "app.commands.inspect_cmd:inspect_cmd",
    "node": "app.commands.node_cmd:node_cmd",
    "rate": "app.commands.rate_cmd:rate_cmd",
    "reports": "app.commands.reports_cmd:reports_cmd",
    "revoke": "app.commands.revoke_cmd:revoke_cmd",
    "train": "app.commands.train_cmd:train_cmd",
    "trust": "app.commands.trust_cmd:trust_cmd",
    "verify": "app.commands.verify_cmd:verify_cmd",
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="bcmlp")
@click.option("--self-test", is_flag=True, help="Run the self-test (as `bcmlp gui --self-test`).")
@click.pass_context
def cli(ctx: click.Context, self_test: bool) -> None:
    """bcmlp: a blockchain-secured ML pipeline for visual quality inspection.

    Without a command, opens the main window.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(gui_cmd, self_test=self_test)


def _path_problem(exc: OSError) -> str:
    """`<what went wrong>: <path>`, without Python's "[Errno N]"."""
    if exc.filename is None:
        return exc.strerror or str(exc)
    return f"{exc.strerror or exc}: {exc.filename}"


def main(argv: list[str] | None = None) -> None:
    try:
        rv = cli.main(args=argv, prog_name="bcmlp", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("bcmlp: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"bcmlp: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except CodedError as exc:
        click.echo(f"bcmlp: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except BAD_PATH_ERRORS as exc:
        click.echo(f"bcmlp: error: {_path_problem(exc)}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("bcmlp: interrupted", err=True)
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)
