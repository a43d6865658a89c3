"""What the identity page needs from the application (app.identity provides it)."""

from __future__ import annotations

from typing import Protocol


class IdentityBackend(Protocol):
    roles: tuple[str, ...]

    def describe(self) -> dict[str, str] | None:
        """The identity's fields, or None when there is none. Raises on a corrupt file."""

    def create(self, org: str, name: str, role: str, passphrase: str) -> dict[str, str]:
        """Create the identity; raises an exception whose text is shown to the user."""

    def unlock(self, passphrase: str) -> str:
        """Decrypt the key; returns the key id, raises with a message on a wrong passphrase."""
