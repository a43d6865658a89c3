"""An equal-weight validator set: key ids, quorum sizes and the round-robin proposer."""

from __future__ import annotations

from collections.abc import Sequence

from ledger_core.crypto.keys import key_id


class ValidatorSet:
    """Validators in a fixed order (the order decides who proposes), one vote each.

    n = 3f+1 validators tolerate f Byzantine ones; `quorum` = floor(2n/3)+1 and
    `skip` = floor(n/3)+1 (the "f+1" of the round-skip rule: more than a third).
    """

    __slots__ = ("public_keys", "key_ids", "index", "n", "quorum", "skip")

    def __init__(self, public_keys: Sequence[bytes]) -> None:
        if not public_keys:
            raise ValueError("a validator set needs at least one validator")
        self.public_keys: tuple[bytes, ...] = tuple(bytes(k) for k in public_keys)
        self.key_ids: tuple[str, ...] = tuple(key_id(k) for k in self.public_keys)
        if len(set(self.key_ids)) != len(self.key_ids):
            raise ValueError("a validator appears twice in the set")
        self.index: dict[str, int] = {kid: i for i, kid in enumerate(self.key_ids)}
        self.n = len(self.key_ids)
        self.quorum = 2 * self.n // 3 + 1
        self.skip = self.n // 3 + 1

    def __contains__(self, kid: object) -> bool:
        return kid in self.index

    def public_key(self, kid: str) -> bytes:
        return self.public_keys[self.index[kid]]

    def proposer(self, height: int, round_: int) -> str:
        """Round robin over the list, shifted by height and round."""
        return self.key_ids[(height + round_) % self.n]

    @property
    def max_faulty(self) -> int:
        return (self.n - 1) // 3
