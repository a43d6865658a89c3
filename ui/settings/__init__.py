"""Settings perspective."""
