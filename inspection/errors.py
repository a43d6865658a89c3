"""Errors of the inspection pipeline; callers turn them into one clear line."""

from __future__ import annotations

from bedrock.errors import CodedError


class InspectionError(CodedError):
    """Base of every inspection error."""

    code = "inspection"


class ImageError(InspectionError):
    """An image or frame that cannot be used: corrupt, truncated, wrong size or channels."""

    code = "bad_image"


class UnsupportedImage(ImageError):
    """Encoded bytes whose header cannot be read (another format, a damaged or unusual header):
    never handed to a decoder."""

    code = "unsupported_image"


class ImageTooLarge(ImageError):
    """An image whose header (or a frame whose size) exceeds the pixel budget: refused before
    decoding."""

    code = "image_too_large"


class ModelError(InspectionError):
    """A model file or card that cannot be loaded or does not match the pipeline."""

    code = "bad_model"


class SourceError(InspectionError):
    """A frame source that cannot be opened or has been lost."""

    code = "source"


class SourceTooLarge(SourceError):
    """A video source whose frame size exceeds the pixel budget (same code as ImageTooLarge)."""

    code = "image_too_large"


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
