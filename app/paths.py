"""The data directory: where it is (--data-dir, BCMLP_DATA_DIR, platformdirs) and its layout."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from app.errors import UserError

ENV_DATA_DIR = "BCMLP_DATA_DIR"


@dataclass(frozen=True)
class DataDir:
    """Named paths inside one data directory. Later features add their own entries here."""

    root: Path

    @property
    def identity_file(self) -> Path:
        return self.root / "identity.json"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def genesis_file(self) -> Path:
        return self.root / "genesis.json"

    @property
    def ledger_db(self) -> Path:
        return self.root / "ledger.sqlite"

    @property
    def node_socket(self) -> Path:
        return self.root / "node.sock"

    @property
    def inspection_dir(self) -> Path:
        """Inspection records (records.sqlite) and the image history store (images/)."""
        return self.root / "inspection"


def resolve_data_dir(option: str | os.PathLike[str] | None) -> Path:
    """--data-dir, else $BCMLP_DATA_DIR, else the platform's user data directory."""
    if option:
        return Path(option).expanduser()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("bcmlp", appauthor=False))


def open_data_dir(option: str | os.PathLike[str] | None, create: bool = True) -> DataDir:
    """Resolve, create (mode 0700) and check that the data directory is a writable directory."""
    root = resolve_data_dir(option)
    if root.exists() and not root.is_dir():
        raise UserError(f"data directory {root} is a file, not a directory")
    if not root.exists():
        if not create:
            raise UserError(f"data directory {root} does not exist")
        try:
            root.mkdir(parents=True, mode=0o700)
        except OSError as exc:
            raise UserError(f"cannot create data directory {root}: {exc.strerror}") from None
    _check_writable(root)
    dd = DataDir(root.resolve())
    for sub in (dd.keys_dir, dd.logs_dir):
        try:
            sub.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create {sub}: {exc.strerror}") from None
    return dd


def _check_writable(root: Path) -> None:
    try:
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise UserError(f"data directory {root} is not writable: {exc.strerror}") from None
