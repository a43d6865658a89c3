"""A compact CNN for the six NEU surface defect classes, its safetensors weights and model card.

Designed for a small CPU: the input is the 128 x 128 grayscale image of `preprocess` (the
200 x 200 NEU images downscaled: 64 px lost the fine pits and cracks that separate the hardest
pitted-surface and crazing images); a stride-2 stem and a stride-2 conv opening each of three
stages take it to 8 x 8 with 16-32-64-128 channels (about 0.29 M parameters, about 43 M
multiply-adds), and a global average + max pool feeds one linear layer. For inference the batch
norms are folded into the convolutions.

Files: `<name>.safetensors` (tensors only, never pickle) and `<name>.card.json` next to it.
Loading checks the card (format, classes, architecture, input spec, weights digest) and that
its preprocessing digest is the one of the pipeline in use.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import save as save_safetensors
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from bedrock.atomic import write_bytes_atomic
from bedrock.canonical import EncodingError, canonical
from inspection.errors import ModelError
from inspection.preprocess import DEFAULT_PREPROCESS, PreprocessConfig

NEU_CLASSES = (
    "crazing",
    "inclusion",
    "patches",
    "pitted_surface",
    "rolled-in_scale",
    "scratches",
)
CARD_FORMAT = "bcmlp.model-card/1"
ARCH_NAME = "neu-compact-cnn"
DEFAULT_CHANNELS = (16, 32, 64, 128)
MAX_CARD_BYTES = 1024 * 1024
MAX_WEIGHTS_BYTES = 256 * 1024 * 1024


def _conv_bn(cin: int, cout: int, stride: int) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


class NeuNet(nn.Module):
    """stem (stride 2) then, per stage, a strided conv and a plain conv; avg+max pool; linear."""

    def __init__(self, num_classes: int = 6, channels: tuple[int, ...] = DEFAULT_CHANNELS) -> None:
        super().__init__()
        layers: list[nn.Module] = _conv_bn(1, channels[0], 2)
        cin = channels[0]
        for cout in channels[1:]:
            layers += _conv_bn(cin, cout, 2) + _conv_bn(cout, cout, 1)
            cin = cout
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(2 * cin, num_classes)
        self.channels = tuple(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)
        return self.head(self.dropout(pooled))


def fuse_for_inference(model: NeuNet) -> NeuNet:
    """Fold each BatchNorm into the convolution before it (eval mode only); returns the model."""
    model.eval()
    mods = list(model.features)
    fused: list[nn.Module] = []
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Conv2d) and i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d):
            fused.append(fuse_conv_bn_eval(m, mods[i + 1]))
            i += 2
        else:
            fused.append(m)
            i += 1
    model.features = nn.Sequential(*fused)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass
class LoadedModel:
    model: NeuNet
    card: dict[str, Any]
    preprocess: PreprocessConfig
    classes: tuple[str, ...]
    weights_sha256: str

    @property
    def model_id(self) -> str:
        """Identifies the weights: their SHA-256."""
        return self.weights_sha256


def card_path_for(weights: Path) -> Path:
    name = weights.name
    stem = name[: -len(".safetensors")] if name.endswith(".safetensors") else weights.stem
    return weights.with_name(stem + ".card.json")


def weights_path_for(out: Path) -> Path:
    return out if out.name.endswith(".safetensors") else out.with_name(out.name + ".safetensors")


def save_model(
    model: NeuNet, out: Path, preprocess: PreprocessConfig, card_extra: dict[str, Any]
) -> tuple[Path, Path, dict[str, Any]]:
    """Write `<out>.safetensors` and its card; returns (weights path, card path, card)."""
    weights = weights_path_for(out)
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # one metadata key: a reproducible header
    write_bytes_atomic(weights, save_safetensors(state, metadata={"format": "pt"}), 0o644)
    classes = list(card_extra.get("classes") or NEU_CLASSES[: model.head.out_features])
    if len(classes) != model.head.out_features:
        raise ModelError(f"{len(classes)} class names for a model with {model.head.out_features} outputs")
    card = {
        **card_extra,  # training facts; the fields below always describe these very files
        "format": CARD_FORMAT,
        "architecture": {
            "name": ARCH_NAME,
            "channels": list(model.channels),
            "parameters": count_parameters(model),
        },
        "classes": classes,
        "input": {"channels": 1, "height": preprocess.height, "width": preprocess.width,
                  "dtype": "uint8", "layout": "NCHW"},
        "preprocessing": preprocess.to_dict(),
        "preprocessing_digest": preprocess.digest,
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
    }
    try:
        body = canonical(card)
    except EncodingError as exc:
        raise ModelError(f"model card is not canonical JSON: {exc}") from None
    card_file = card_path_for(weights)
    text = json.dumps(json.loads(body), indent=2, sort_keys=True) + "\n"
    write_bytes_atomic(card_file, text.encode(), 0o644)
    return weights, card_file, card


def read_card(card_file: Path) -> dict[str, Any]:
    try:
        raw = card_file.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read model card {card_file}: {exc.strerror}") from None
    if len(raw) > MAX_CARD_BYTES:
        raise ModelError(f"model card {card_file} is larger than {MAX_CARD_BYTES} bytes")
    try:
        card = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"model card {card_file} is not valid JSON: {exc}") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise ModelError(f"{card_file} is not a {CARD_FORMAT} model card")
    return card


def read_weights(path: Path) -> tuple[Path, bytes]:
    """(weights path, its bytes): the file read once, bounded by MAX_WEIGHTS_BYTES. What is
    hashed, judged and loaded is these bytes, never a second read of the path."""
    weights = weights_path_for(Path(path)) if not Path(path).exists() else Path(path)
    if not weights.is_file():
        raise ModelError(f"model file {path} does not exist")
    try:
        with weights.open("rb") as fh:
            data = fh.read(MAX_WEIGHTS_BYTES + 1)
    except OSError as exc:
        raise ModelError(f"cannot read model file {weights}: {exc.strerror}") from None
    if len(data) > MAX_WEIGHTS_BYTES:
        raise ModelError(f"model file {weights} is larger than {MAX_WEIGHTS_BYTES} bytes")
    return weights, data


def _is_safetensors(data: bytes) -> bool:
    """safetensors: 8-byte little-endian header length, then a JSON header starting with '{'."""
    if len(data) < 9 or data[8:9] != b"{":
        return False
    n = int.from_bytes(data[:8], "little")
    return 0 < n <= len(data) - 8


def load_model(
    path: Path, preprocess: PreprocessConfig = DEFAULT_PREPROCESS, fuse: bool = True
) -> LoadedModel:
    """Load weights and card; ModelError if either is wrong or the card does not match."""
    weights, data = read_weights(path)
    return load_model_bytes(weights, data, preprocess, fuse)


def load_model_bytes(
    weights: Path, data: bytes, preprocess: PreprocessConfig = DEFAULT_PREPROCESS,
    fuse: bool = True,
) -> LoadedModel:
    """The model from `data`, the bytes of the weights file `weights` already read (its card is
    read from beside it and must name these bytes' SHA-256); the path is never read again."""
    if len(data) > MAX_WEIGHTS_BYTES:
        raise ModelError(f"model file {weights} is larger than {MAX_WEIGHTS_BYTES} bytes")
    if not _is_safetensors(data):
        raise ModelError(f"model file {weights} is not a safetensors file")
    card_file = card_path_for(weights)
    if not card_file.is_file():
        raise ModelError(f"model card {card_file} is missing next to {weights.name}")
    card = read_card(card_file)
    sha = hashlib.sha256(data).hexdigest()
    if card.get("weights_sha256") != sha:
        raise ModelError(f"model card {card_file.name} does not match the weights (SHA-256 differs)")
    if card.get("preprocessing_digest") != preprocess.digest:
        raise ModelError(
            "model card preprocessing digest does not match the pipeline in use "
            f"({str(card.get('preprocessing_digest'))[:12]} != {preprocess.digest[:12]})"
        )
    inp = card.get("input") or {}
    if (inp.get("height"), inp.get("width"), inp.get("channels")) != (
        preprocess.height, preprocess.width, 1
    ):
        raise ModelError("model card input spec does not match the preprocessing")
    arch = card.get("architecture") or {}
    classes = card.get("classes")
    if arch.get("name") != ARCH_NAME:
        raise ModelError(f"unknown architecture {arch.get('name')!r} in model card")
    channels = arch.get("channels")
    if (
        not isinstance(channels, list)
        or not 1 <= len(channels) <= 8
        or not all(type(c) is int and 1 <= c <= 1024 for c in channels)
    ):
        raise ModelError("model card architecture channels are invalid")
    if (
        not isinstance(classes, list)
        or not 2 <= len(classes) <= 1000
        or not all(isinstance(c, str) and c for c in classes)
        or len(set(classes)) != len(classes)
    ):
        raise ModelError("model card classes are invalid")
    try:
        from safetensors.torch import load as load_bytes

        state = load_bytes(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ModelError(f"model file {weights} is not a valid safetensors file: {exc}") from None
    model = NeuNet(len(classes), tuple(channels))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelError(f"weights do not fit the architecture in the card: {first}") from None
    model.eval()
    if fuse:
        fuse_for_inference(model)
    return LoadedModel(model, card, preprocess, tuple(classes), sha)


__all__ = [
    "NEU_CLASSES",
    "NeuNet",
    "LoadedModel",
    "load_model",
    "load_model_bytes",
    "read_weights",
    "save_model",
    "read_card",
    "fuse_for_inference",
    "card_path_for",
    "weights_path_for",
]
