"""The bottom of the house: what both cores and the app share.

Canonical JSON and digests (`canonical`), durable atomic file writes (`atomic`), cancellation
(`cancel`) and the coded error base (`errors`). It imports nothing of the project, and
`ledger_core`, `inspection`, `ui` and `app` may all import it (tests/test_layering.py).
"""
