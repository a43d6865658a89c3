"""Revisions of the inspection records schema."""
