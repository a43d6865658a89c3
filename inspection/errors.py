"""Errors of the inspection pipeline; callers turn them into one clear line."""

from __future__ import annotations

from bedrock.errors import CodedError


class InspectionError(CodedError):
    """Base of every inspection error."""

    code = "inspection"


class ImageError(InspectionError):
    """An image or frame that cannot be used: corrupt, truncated, wrong size or channels."""

    code = "bad_image"


class ModelError(InspectionError):
    """A model file or card that cannot be loaded or does not match the pipeline."""

    code = "bad_model"


class SourceError(InspectionError):
    """A frame source that cannot be opened or has been lost."""

    code = "source"


class OrderError(InspectionError):
    """An order or parameter file that cannot be parsed."""

    code = "bad_order"


class DeviceError(InspectionError):
    """A compute device that was asked for but is not available."""

    code = "no_device"


class DatasetError(InspectionError):
    """A data folder that is not laid out as one folder of images per class."""

    code = "bad_dataset"


class StorageError(InspectionError):
    """Records or images could not be stored (database or disk problem)."""

    code = "storage"
