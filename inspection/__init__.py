"""inspection package."""
