"""The double-sign guard: refusals, persistence, corrupt files, and a process killed with
SIGKILL in the middle of signing that, restarted, still refuses to equivocate."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger_core.consensus import (
    PRECOMMIT,
    PREVOTE,
    DoubleSignRefused,
    FileStore,
    GuardedSigner,
    Lock,
    MemoryStore,
    Proposal,
    SignerStateError,
    Vote,
)
from ledger_core.crypto.keys import verify_raw
from tests.support.consensus_util import CHAIN, KEYS, value

REPO = Path(__file__).resolve().parents[3]


def vote(kind: str, h: int, r: int, tag: str | None) -> Vote:
    return Vote(kind, h, r, None if tag is None else value(tag).block_id)


def test_signs_and_persists_before_returning(tmp_path: Path):
    path = tmp_path / "signer.json"
    s = GuardedSigner.open(path, KEYS[0], CHAIN)
    m = s.sign(vote(PREVOTE, 1, 0, "a"), Lock())
    assert verify_raw(KEYS[0].public_raw, m.signature, m.sign_bytes())
    reloaded = GuardedSigner.open(path, KEYS[0], CHAIN)
    assert (reloaded.height, reloaded.round, reloaded.step) == (1, 0, 2)
    assert reloaded.last == m.without_payload()
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_refuses_a_different_vote_at_the_same_step_and_resends_the_same():
    s = GuardedSigner(KEYS[0], CHAIN, MemoryStore())
    m = s.sign(vote(PREVOTE, 1, 0, "a"), Lock())
    with pytest.raises(DoubleSignRefused) as info:
        s.sign(vote(PREVOTE, 1, 0, "b"), Lock())
    assert info.value.previous == m
    with pytest.raises(DoubleSignRefused):
        s.sign(vote(PREVOTE, 1, 0, None), Lock())
    assert s.sign(vote(PREVOTE, 1, 0, "a"), Lock()).signature == m.signature


def test_refuses_going_back_in_height_round_or_step():
    s = GuardedSigner(KEYS[0], CHAIN, MemoryStore())
    s.sign(vote(PRECOMMIT, 2, 3, "a"), Lock(3, value("a").block_id))
    for body in (
        vote(PREVOTE, 2, 3, "a"),  # earlier step
        vote(PRECOMMIT, 2, 2, "a"),  # earlier round
        vote(PRECOMMIT, 1, 9, "a"),  # earlier height
        Proposal(2, 3, value("a").block_id, -1),
    ):
        with pytest.raises(DoubleSignRefused):
            s.sign(body, Lock())
    s.sign(Proposal(2, 4, value("a").block_id, 3), Lock(3, value("a").block_id))  # forward is fine


def test_refusals_hold_after_reload_and_the_lock_is_restored(tmp_path: Path):
    path = tmp_path / "s.json"
    v = value("v")
    s = GuardedSigner.open(path, KEYS[1], CHAIN)
    s.sign(vote(PREVOTE, 5, 1, "v"), Lock())
    pc = s.sign(vote(PRECOMMIT, 5, 1, "v"), Lock(1, v.block_id, v.payload))
    s2 = GuardedSigner.open(path, KEYS[1], CHAIN)
    with pytest.raises(DoubleSignRefused) as info:
        s2.sign(vote(PRECOMMIT, 5, 1, None), Lock())
    assert info.value.previous == pc.without_payload()
    assert s2.resume(5) == (1, Lock(1, v.block_id, v.payload))
    assert s2.resume(6) is None
    assert {(m.type, m.round) for m in s2.signed_at(5)} == {(PREVOTE, 1), (PRECOMMIT, 1)}


def test_keeps_what_it_signed_at_the_height_and_bounds_it(monkeypatch):
    import ledger_core.consensus.signer_state as ss

    s = GuardedSigner(KEYS[0], CHAIN, MemoryStore())
    s.sign(vote(PREVOTE, 1, 0, "a"), Lock())
    s.sign(vote(PRECOMMIT, 1, 0, None), Lock())
    s.sign(vote(PREVOTE, 1, 1, None), Lock())
    assert [(m.type, m.round) for m in s.signed_at(1)] == [
        (PREVOTE, 0),
        (PRECOMMIT, 0),
        (PREVOTE, 1),
    ]
    monkeypatch.setattr(ss, "MAX_KEPT_MESSAGES", 3)
    s.sign(
        vote(PREVOTE, 1, 2, "b"), Lock()
    )  # the oldest nil vote that is not the latest of its step goes
    assert [(m.type, m.round) for m in s.signed_at(1)] == [
        (PREVOTE, 0),
        (PRECOMMIT, 0),
        (PREVOTE, 2),
    ]
    s.sign(vote(PREVOTE, 2, 0, "c"), Lock())  # a new height forgets the old one
    assert s.signed_at(1) == [] and len(s.signed_at(2)) == 1


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"[]", b'{"version":1}', b'{"version":2}', b"\xff" * 10, b"x" * (3 * 1024 * 1024)],
)
def test_corrupt_state_files_are_refused(tmp_path: Path, content: bytes):
    path = tmp_path / "s.json"
    path.write_bytes(content)
    with pytest.raises(SignerStateError):
        GuardedSigner.open(path, KEYS[0], CHAIN)


def test_state_of_another_key_or_chain_is_refused(tmp_path: Path):
    path = tmp_path / "s.json"
    GuardedSigner.open(path, KEYS[0], CHAIN).sign(vote(PREVOTE, 1, 0, "a"), Lock())
    with pytest.raises(SignerStateError):
        GuardedSigner.open(path, KEYS[1], CHAIN)
    with pytest.raises(SignerStateError):
        GuardedSigner.open(path, KEYS[0], "another-chain")


class FailingStore(MemoryStore):
    def save(self, data: bytes) -> None:
        raise OSError("disk full")


def test_a_failed_write_releases_no_signature_and_changes_nothing():
    s = GuardedSigner(KEYS[0], CHAIN, FailingStore())
    with pytest.raises(OSError):
        s.sign(vote(PREVOTE, 1, 0, "a"), Lock())
    assert (s.height, s.round, s.step, s.signed) == (0, -1, 0, [])


# -- SIGKILL ---------------------------------------------------------------------------------

WORKER = r"""
import sys
from pathlib import Path
from ledger_core.consensus import GuardedSigner, Lock, Vote
from tests.support.consensus_util import CHAIN, KEYS, value
s = GuardedSigner.open(Path(sys.argv[1]), KEYS[0], CHAIN)
h = s.height + 1
while True:
    for r in range(3):
        for kind in ("prevote", "precommit"):
            tag = f"{h}-{r}-{kind}"
            m = s.sign(Vote(kind, h, r, value(tag).block_id), Lock())
            print(h, r, kind, tag, m.signature.hex(), flush=True)
    h += 1
"""


def test_killed_signer_does_not_double_sign_after_restart(tmp_path: Path):
    path = tmp_path / "signer.json"
    rng = random.Random(7)
    printed: list[list[str]] = []
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for attempt in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        assert proc.stdout is not None
        if attempt % 2 == 0:  # kill right after a signature was released
            for _ in range(rng.randint(1, 40)):
                line = proc.stdout.readline()
                if not line:  # the worker ended on its own: its stderr says why (below)
                    break
                printed.append(line.split())
        else:  # kill at a random moment, likely in the middle of a write
            time.sleep(rng.uniform(0.05, 0.3))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        printed += [line.split() for line in out.splitlines() if line.strip()]
        assert proc.returncode == -signal.SIGKILL, err[-2000:]
        if not printed:  # killed before its first signature: nothing released, nothing to check
            continue
        # the state always loads (atomic replace): never half a file
        s = GuardedSigner.open(path, KEYS[0], CHAIN)
        last = printed[-1]
        h, r, kind = int(last[0]), int(last[1]), last[2]
        assert (s.height, s.round) >= (h, r)
        # everything it released is remembered: a different vote there is refused ...
        for ph, pr, pkind, _tag, _sig in printed[-3:]:
            with pytest.raises(DoubleSignRefused):
                s.sign(Vote(pkind, int(ph), int(pr), value("conflicting").block_id), Lock())
        # ... and the very last one is re-signed identically
        if (s.height, s.round) == (h, r) and s.last is not None and s.last.type == kind:
            assert (
                s.sign(Vote(kind, h, r, value(last[3]).block_id), Lock()).signature.hex() == last[4]
            )
    assert len(printed) > 6
    # no position was ever signed twice with different contents across the restarts
    seen: dict[tuple[str, str, str], str] = {}
    for ph, pr, pkind, tag, _sig in printed:
        assert seen.setdefault((ph, pr, pkind), tag) == tag


def test_file_store_replaces_atomically(tmp_path: Path):
    store = FileStore(tmp_path / "d" / "state.json")
    assert store.load() is None
    store.save(b"one")
    store.save(b"two")
    assert store.load() == b"two"
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["state.json"]
