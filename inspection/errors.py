"""Errors of the inspection pipeline; callers turn them into one clear line."""

from __future__ import annotations


class InspectionError(Exception):
    """Base of every inspection error."""


class ImageError(InspectionError):
    """An image or frame that cannot be used: corrupt, truncated, wrong size or channels."""


class ModelError(InspectionError):
    """A model file or card that cannot be loaded or does not match the pipeline."""


class SourceError(InspectionError):
    """A frame source that cannot be opened or has been lost."""


class OrderError(InspectionError):
    """An order or parameter file that cannot be parsed."""


class DeviceError(InspectionError):
    """A compute device that was asked for but is not available."""


class DatasetError(InspectionError):
    """A data folder that is not laid out as one folder of images per class."""


class StorageError(InspectionError):
    """Records or images could not be stored (database or disk problem)."""
