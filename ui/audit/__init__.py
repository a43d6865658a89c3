"""The Inspection audit perspective."""
