"""The Operator perspective: live inspection of a source under the active order."""
