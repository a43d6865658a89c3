"""settings.json: versioned user settings with migrations from older versions.

A corrupt file is reported and never overwritten: the settings then run read-only on defaults.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.errors import UserError
from bedrock.atomic import read_json_object, write_json_atomic

CURRENT_VERSION = 2
THEMES = ("dark", "light")
MAX_SETTINGS_BYTES = 1024 * 1024

DEFAULTS: dict[str, Any] = {
    "version": CURRENT_VERSION,
    "theme": "dark",
    "window": {"geometry": None, "state": None},
    "perspective": None,
}


def _v1_to_v2(old: dict[str, Any]) -> dict[str, Any]:
    """Version 1 stored `dark_mode: bool` and `geometry` at the top level."""
    new = {k: v for k, v in old.items() if k not in ("dark_mode", "geometry")}
    new["theme"] = "dark" if old.get("dark_mode", True) else "light"
    new["window"] = {"geometry": old.get("geometry"), "state": None}
    new["version"] = 2
    return new


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


class SettingsError(UserError):
    """settings.json cannot be read or understood."""


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    version = data.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise SettingsError(f"settings version {version!r} is not a positive integer")
    if version > CURRENT_VERSION:
        raise SettingsError(
            f"settings version {version} is newer than this bcmlp understands ({CURRENT_VERSION})"
        )
    while version < CURRENT_VERSION:
        data = MIGRATIONS[version](data)
        version = data["version"]
    return data


def _validate(data: dict[str, Any], path: Path) -> dict[str, Any]:
    merged = copy.deepcopy(DEFAULTS)
    merged.update({k: v for k, v in data.items() if k in DEFAULTS})
    if merged["theme"] not in THEMES:
        raise SettingsError(f"{path}: theme must be one of {', '.join(THEMES)}")
    if not isinstance(merged["window"], dict):
        raise SettingsError(f"{path}: window must be an object")
    for key in ("geometry", "state"):
        if not isinstance(merged["window"].get(key), str | None):
            raise SettingsError(f"{path}: window.{key} must be a string")
    if not isinstance(merged["perspective"], str | None):
        raise SettingsError(f"{path}: perspective must be a string")
    return merged


def read_settings_file(path: Path) -> dict[str, Any]:
    """Parse, migrate and validate; SettingsError with one line on any problem."""
    if not path.exists():
        return copy.deepcopy(DEFAULTS)
    data = read_json_object(path, MAX_SETTINGS_BYTES, SettingsError)
    return _validate(migrate(data), path)


class Settings:
    """In-memory settings backed by settings.json; `save()` writes atomically."""

    def __init__(self, path: Path, data: dict[str, Any], read_only: bool = False) -> None:
        self.path = path
        self.data = data
        self.read_only = read_only

    @classmethod
    def load(cls, path: Path) -> Settings:
        data = read_settings_file(path)
        settings = cls(path, data)
        if path.exists() and json.loads(path.read_text(encoding="utf-8")).get("version") != CURRENT_VERSION:
            settings.save()  # persist the migrated form
        return settings

    @classmethod
    def load_or_defaults(cls, path: Path) -> tuple[Settings, str | None]:
        """For the GUI: on a corrupt file, defaults in read-only mode and the error message."""
        try:
            return cls.load(path), None
        except SettingsError as exc:
            return cls(path, copy.deepcopy(DEFAULTS), read_only=True), str(exc)

    def get(self, key: str) -> Any:
        return self.data[key]

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.save()

    def save(self) -> None:
        if self.read_only:
            return
        write_json_atomic(self.path, self.data)
