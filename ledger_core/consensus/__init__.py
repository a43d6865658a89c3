"""Consensus: the Tendermint state machine, its messages, double-sign guard and evidence.

Pure (no I/O besides the signer's state file); see tendermint.py for how to drive it.
"""

from .evidence import DoubleSign, EvidenceError, EvidencePool
from .messages import (
    PRECOMMIT,
    PREVOTE,
    PROPOSAL,
    CachedVerifier,
    MessageError,
    Proposal,
    Signed,
    Value,
    Vote,
    decode_message,
)
from .signer_state import (
    DoubleSignRefused,
    FileStore,
    GuardedSigner,
    Lock,
    MemoryStore,
    SignerStateError,
)
from .tendermint import (
    COMMIT,
    PROPOSE,
    Broadcast,
    Decide,
    EvidenceFound,
    ScheduleTimeout,
    Tendermint,
    TimeoutConfig,
)
from .validators import ValidatorSet

__all__ = [
    "COMMIT",
    "PRECOMMIT",
    "PREVOTE",
    "PROPOSAL",
    "PROPOSE",
    "Broadcast",
    "CachedVerifier",
    "Decide",
    "DoubleSign",
    "DoubleSignRefused",
    "EvidenceError",
    "EvidenceFound",
    "EvidencePool",
    "FileStore",
    "GuardedSigner",
    "Lock",
    "MemoryStore",
    "MessageError",
    "Proposal",
    "ScheduleTimeout",
    "Signed",
    "SignerStateError",
    "Tendermint",
    "TimeoutConfig",
    "ValidatorSet",
    "Value",
    "Vote",
    "decode_message",
]
