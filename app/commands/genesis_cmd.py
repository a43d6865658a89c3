"""`bcmlp genesis create|validate`: make a genesis file from identities, or check one."""

from __future__ import annotations

from pathlib import Path

import click

from app.commands.common import data_dir_option, emit_json, json_option
from app.errors import UserError
from app.paths import DataDir, open_data_dir
from app.services.genesis import create_genesis
from ledger_core.chain import genesis as gen

_dir = click.Path(path_type=Path, file_okay=False, exists=True)


@click.group("genesis")
def genesis_cmd() -> None:
    """Create or validate the genesis file that starts a chain (its hash is the chain id)."""


def _print_summary(g: gen.Genesis, as_json: bool, path: Path) -> None:
    info = {"file": str(path), **g.summary()}
    if as_json:
        emit_json(info)
        return
    click.echo(f"genesis {path}")
    for k in ("chain_id", "chain_name", "organisations", "participants", "validators"):
        click.echo(f"{k:>14}: {info[k]}")


@genesis_cmd.command("create")
@click.option("--member", "members", multiple=True, type=_dir,
              help="A data directory whose identity joins as a founding member (repeatable; "
                   "default: --data-dir).")
@click.option("--validator", "validators", multiple=True, type=_dir,
              help="A data directory whose node key (keys/node.pem, created if absent) becomes a "
                   "validator of its identity's organisation (repeatable; default: the members).")
@click.option("--chain-name", default="bcmlp", show_default=True)
@click.option("--param", "params", multiple=True, metavar="NAME=INT",
              help=f"Trust/limit parameter ({', '.join(gen.PARAMS)}).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write (default: <data-dir>/genesis.json).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@json_option
@data_dir_option
def create_cmd(members, validators, chain_name, params, out, force, as_json, data_dir) -> None:
    """Create a genesis file from the identities of one or more data directories."""
    dd = open_data_dir(data_dir)
    member_dirs = [DataDir(Path(m).resolve()) for m in members] or [dd]
    validator_dirs = [DataDir(Path(v).resolve()) for v in validators] or member_dirs
    values = {}
    for p in params:
        name, sep, value = p.partition("=")
        if not sep or not value.lstrip("-").isdigit():
            raise UserError(f"--param {p!r}: expected NAME=INTEGER")
        values[name] = int(value)
    out = out or dd.genesis_file
    g = create_genesis(out, member_dirs, validator_dirs, chain_name, values, force)
    _print_summary(g, as_json, out)


@genesis_cmd.command("validate")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@json_option
@data_dir_option
def validate_cmd(file, as_json, data_dir) -> None:
    """Check a genesis file (default: <data-dir>/genesis.json) and print its chain id."""
    path = file or open_data_dir(data_dir, create=False).genesis_file
    _print_summary(gen.load(path), as_json, path)
