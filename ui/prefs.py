"""The small preference interface the ui needs; app.settings.Settings provides it."""

from __future__ import annotations

from typing import Any, Protocol


class Preferences(Protocol):
    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...
