"""The node's start-up failure: `NodeError` (socket in use, data directory locked, not a node)."""

from __future__ import annotations

from bedrock.errors import CodedError


class NodeError(CodedError):
    """The node cannot start (socket in use, data directory locked, not a validator); the
    command line reports it as one line (exit 2)."""

    code = "node_error"
    exit_code = 2
