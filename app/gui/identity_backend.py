"""Adapts app.identity.IdentityStore to the ui's IdentityBackend protocol; a new key's passphrase
must pass the strength policy (ledger_core.crypto.passphrase_policy)."""

from __future__ import annotations

from app.identity import ROLES, IdentityStore
from ledger_core.crypto.passphrase_policy import require_acceptable


class StoreIdentityBackend:
    roles = ROLES

    def __init__(self, store: IdentityStore) -> None:
        self.store = store

    def describe(self) -> dict[str, str] | None:
        if not self.store.exists():
            return None
        return self.store.load().describe()

    def create(self, org: str, name: str, role: str, passphrase: str) -> dict[str, str]:
        require_acceptable(passphrase)
        return self.store.create(org, name, role, passphrase).describe()

    def unlock(self, passphrase: str) -> str:
        return self.store.unlock(passphrase).key_id
