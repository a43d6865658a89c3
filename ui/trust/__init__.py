"""The Trust perspective."""
