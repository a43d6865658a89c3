"""Training augmentation in torch for what a real line does to images.

On batches of grey levels (N, 1, H, W), float 0..255, before normalisation:
flips and 90-degree turns (defects have no preferred orientation on the strip), a small random
scale and shift, brightness/contrast/gamma changes of the lighting, Gaussian blur (focus,
motion) and Gaussian sensor noise. All randomness comes from the given generator. They act on the downscaled model input, where one
pixel covers about 1.6 x 1.6 camera pixels, so blur and noise levels are the smaller for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    flip: bool = True
    max_scale_delta: float = 0.10
    max_shift: float = 0.06
    brightness: float = 40.0  # grey levels, uniform +-
    contrast: float = 0.35  # factor 1 +- this
    gamma: float = 0.25  # exponent exp(+- this)
    blur_prob: float = 0.3
    max_blur_sigma: float = 1.5
    noise_prob: float = 0.4
    max_noise_sigma: float = 6.0


def _rand(n: int, g: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=g, device="cpu").to(device)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of a (N, 1, H, W) batch; reflect padding."""
    if sigma <= 0:
        return x
    radius = max(1, int(3 * sigma + 0.5))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1))
    return F.conv2d(x, k.view(1, 1, -1, 1))


def augment(x: torch.Tensor, g: torch.Generator, cfg: AugmentConfig = AugmentConfig()) -> torch.Tensor:
    n, dev = x.shape[0], x.device
    x = x.float()
    if cfg.flip:
        hflip = _rand(n, g, dev) < 0.5
        vflip = _rand(n, g, dev) < 0.5
        x = torch.where(hflip.view(-1, 1, 1, 1), x.flip(3), x)
        x = torch.where(vflip.view(-1, 1, 1, 1), x.flip(2), x)
        if x.shape[2] == x.shape[3]:
            turn = _rand(n, g, dev) < 0.5
            x = torch.where(turn.view(-1, 1, 1, 1), x.transpose(2, 3), x)
    if cfg.max_scale_delta > 0 or cfg.max_shift > 0:
        scale = 1 + (2 * _rand(n, g, dev) - 1) * cfg.max_scale_delta
        shift = (2 * torch.rand(n, 2, generator=g).to(dev) - 1) * cfg.max_shift * 2
        theta = torch.zeros(n, 2, 3, device=dev)
        theta[:, 0, 0] = 1 / scale
        theta[:, 1, 1] = 1 / scale
        theta[:, :, 2] = shift
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    # lighting: gamma on 0..1, then contrast around the image mean, then a brightness offset
    gamma = torch.exp((2 * _rand(n, g, dev) - 1) * cfg.gamma).view(-1, 1, 1, 1)
    x = 255.0 * (x.clamp(0, 255) / 255.0) ** gamma
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = (1 + (2 * _rand(n, g, dev) - 1) * cfg.contrast).view(-1, 1, 1, 1)
    bright = ((2 * _rand(n, g, dev) - 1) * cfg.brightness).view(-1, 1, 1, 1)
    x = (x - mean) * contrast + mean + bright
    if cfg.blur_prob > 0:
        sigma = float(_rand(1, g, dev)) * cfg.max_blur_sigma
        blurred = gaussian_blur(x, sigma)
        pick = (_rand(n, g, dev) < cfg.blur_prob).view(-1, 1, 1, 1)
        x = torch.where(pick, blurred, x)
    if cfg.noise_prob > 0:
        sigma = (_rand(n, g, dev) * cfg.max_noise_sigma).view(-1, 1, 1, 1)
        pick = (_rand(n, g, dev) < cfg.noise_prob).view(-1, 1, 1, 1)
        noise = torch.randn(x.shape, generator=g).to(dev) * sigma
        x = torch.where(pick, x + noise, x)
    return x.clamp(0, 255)
