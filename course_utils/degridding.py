"""Gridding through sub-grids and frequencies, and the literature's fixes, measured on one synthetic task (chapter 7).

A rate-``d`` layer only combines pixels ``d`` apart, so its frequency response is periodic with
period ``2 pi / d``: it passes a pattern of period ``d`` (a checkerboard, for ``d = 2``) exactly as
strongly as a constant. A stack's response is the product of its layers' responses, so a stack
can leave no hole and still pass the grid frequencies far more than a dense stack of the same
depth: that is the checkerboard in its output spectrum.

The fixes, each a ``kind`` of ``gridding_net``, are two mechanisms:

- a tail of layers at decreasing rates after the dilated layers, without residual connections.
  ``"drn"`` is the tail of Dilated Residual Networks (Yu, Koltun & Funkhouser 2017, section 4),
  rates 2 then 1. DRN's degridding has three steps: remove the max-pooling of the stem (its
  high-amplitude, high-frequency activations are what dilation amplifies), add these two levels,
  and remove their residual connections; ``gridding_net`` has no max-pooling, so it has the last
  two. ``"decreasing"`` (rates 3, 2, 1) is the same mechanism after Hamaguchi et al. (2018)'s
  local feature extraction module. No residual tail is trained as a control, so the study does not
  measure what the missing residual connections contribute;
- ``"smoothed"``: smoothed dilated convolutions (Wang & Ji 2018): before each rate-``r`` layer, a
  ``(2r - 1) x (2r - 1)`` filter shared by all channels and applied to each channel on its own
  (their "separable and shared" convolution), which lets the sub-grids exchange information.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_array, check_array_budget, check_dilations, check_int, check_str, check_weights_budget
from .blocks import conv_bn_relu

__all__ = [
    "KINDS",
    "SharedSeparableFilter",
    "checkerboard_gain",
    "degridding_study",
    "grid_energy",
    "gridding_net",
    "plot_spectra",
    "power_spectrum",
    "centre_gradient",
]

KINDS = ("dense", "dilated", "drn", "smoothed", "decreasing")
FIXES = ("dilated", "drn", "smoothed", "decreasing")


def _real_array(name: str, value: Any) -> np.ndarray:
    """Finite real numbers (an array, a nested list or a tensor), not empty, as float64."""
    return check_array(name, value, finite=True).astype(np.float64)


def grid_energy(maps: Any, period: int) -> float:
    """Fraction of a map's spectral energy (mean removed) that sits at the grid frequencies.

    For maps ``(..., H, W)`` with ``H, W`` multiples of ``period``, the grid frequencies are the DFT
    bins ``(u, v)`` with ``u`` a multiple of ``H / period`` and ``v`` of ``W / period``, except
    ``(0, 0)``. Returns ``sum_grid |X(u, v)|^2 / sum_{(u, v) != (0, 0)} |X(u, v)|^2``, summed over
    all leading axes. A map made only of a period-``period`` pattern gives 1; white noise gives
    about ``(period^2 - 1) / (H W - 1)``.
    """
    period = check_int("period", period, 2)
    maps = _real_array("maps", maps)
    if maps.ndim < 2:
        raise ValueError(f"maps must have at least 2 dimensions (..., H, W), got shape {maps.shape}")
    h, w = maps.shape[-2:]
    if h % period or w % period:
        raise ValueError(f"the maps' height and width must be multiples of period={period}, got {h}x{w}")
    power = np.abs(np.fft.fft2(maps - maps.mean(axis=(-2, -1), keepdims=True))) ** 2
    power = power.reshape(-1, h, w).sum(axis=0)
    total = power.sum() - power[0, 0]
    if total == 0:
        return 0.0
    return float((power[:: h // period, :: w // period].sum() - power[0, 0]) / total)


def checkerboard_gain(dilations: Sequence[int], period: int = 2) -> float:
    """Gain of a stack of 3-tap all-ones layers at the frequency ``2 pi / period``, relative to DC (1D).

    One layer at rate ``d`` has response ``H_d(w) = 1 + 2 cos(d w)``, so the stack gives
    ``prod_l |1 + 2 cos(2 pi d_l / period)| / 3``. A layer whose rate is a multiple of ``period``
    contributes 1: it cannot tell that pattern from a constant. (In 2D, square it.)
    """
    rates = check_dilations(dilations)
    period = check_int("period", period, 2)
    return float(np.prod([abs(1 + 2 * np.cos(2 * np.pi * d / period)) / 3 for d in rates]))


def power_spectrum(kernel: Any, size: int = 64) -> np.ndarray:
    """``log10 |DFT|^2`` of a 2D impulse response normalised to sum 1, zero-padded to ``size x size``.

    Centred with ``fftshift``: the middle is frequency 0 (a constant), the edges are 1/2 cycle per
    pixel (period 2, the checkerboard). A floor of ``1e-8`` keeps exact zeros finite.
    """
    size = check_int("size", size)
    check_array_budget(f"size={size}", size * size)
    kernel = _real_array("kernel", kernel)
    if kernel.ndim != 2 or kernel.shape[0] > size or kernel.shape[1] > size:
        raise ValueError(f"kernel must be a 2D array no larger than size={size}, got shape {kernel.shape}")
    if kernel.sum() == 0:
        raise ValueError("kernel must not sum to zero (it is normalised to sum 1)")
    power = np.abs(np.fft.fftshift(np.fft.fft2(kernel / kernel.sum(), s=(size, size)))) ** 2
    return np.log10(power + 1e-8)


def plot_spectra(spectra: Sequence[np.ndarray], titles: Sequence[str], suptitle: str = "") -> Any:
    """Spectra from ``power_spectrum`` side by side, on axes in cycles per pixel, with colour bars."""
    import matplotlib.pyplot as plt

    if isinstance(spectra, str) or not isinstance(spectra, Sequence):
        raise TypeError(f"spectra must be a sequence of 2D arrays, got {spectra!r} ({type(spectra).__name__})")
    if isinstance(titles, str) or not isinstance(titles, Sequence):
        raise TypeError(f"titles must be a sequence of strings, got {titles!r} ({type(titles).__name__})")
    for i, title in enumerate(titles):
        check_str(f"titles[{i}]", title)
    check_str("suptitle", suptitle)
    if len(spectra) != len(titles) or not spectra:
        raise ValueError(
            f"spectra and titles must be non-empty and of equal length, got {len(spectra)} and {len(titles)}"
        )
    spectra = [_real_array(f"spectra[{i}]", spectrum) for i, spectrum in enumerate(spectra)]
    if any(spectrum.ndim != 2 for spectrum in spectra):
        raise ValueError(f"spectra must be 2D arrays, got shapes {[spectrum.shape for spectrum in spectra]}")
    fig, axes = plt.subplots(1, len(spectra), figsize=(2.6 * len(spectra) + 0.6, 2.9), squeeze=False)
    for ax, spectrum, title in zip(axes[0], spectra, titles, strict=True):
        image = ax.imshow(spectrum, cmap="viridis", extent=(-0.5, 0.5, 0.5, -0.5))
        ax.set_title(title)
        ax.set_xlabel("cycles / pixel")
        ax.set_ylabel("cycles / pixel")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="log10 power")
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


class SharedSeparableFilter(nn.Module):
    """Wang & Ji (2018)'s pre-filter: one ``k x k`` kernel shared by every channel, applied per channel.

    ``k = 2r - 1`` for a rate-``r`` layer; initialised to the identity (centre tap 1), so the block
    starts as the plain dilated convolution and learns how much to smooth. ``k * k`` weights in all.
    """

    def __init__(self, kernel_size: int):
        super().__init__()
        k = check_int("kernel_size", kernel_size)
        if k % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {k}")
        weight = torch.zeros(1, 1, k, k)
        weight[0, 0, k // 2, k // 2] = 1.0
        self.weight = nn.Parameter(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels, k = x.shape[1], self.weight.shape[-1]
        return F.conv2d(x, self.weight.expand(channels, 1, k, k), padding=k // 2, groups=channels)


class _Residual(nn.Module):
    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def gridding_net(kind: str, width: int = 8, rate: int = 4, classes: int = 3) -> nn.Sequential:
    """A small segmentation net: a 3x3 stem, three residual units at ``rate``, a tail, a 1x1 head.

    ``kind`` (see the module docstring): ``"dilated"`` (no tail), ``"drn"`` (DRN's tail: rates 2, 1,
    no residual, no max-pooling anywhere), ``"smoothed"`` (each unit's dilated conv preceded by a
    shared ``(2 rate - 1)`` pre-filter), ``"decreasing"`` (tail rates 3, 2, 1, no residual), and
    ``"dense"``, the same net with ``rate`` 1 (no gridding, but a receptive field of only 9).
    """
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    width, rate, classes = check_int("width", width), check_int("rate", rate, 2), check_int("classes", classes)
    check_weights_budget(f"width={width}, classes={classes}", 9 * 16 * width * width + width * classes)
    unit_rate = 1 if kind == "dense" else rate
    layers: list[nn.Module] = [nn.Conv2d(1, width, 3, padding=1), nn.ReLU()]
    for _ in range(3):
        body = conv_bn_relu(width, width, 3, unit_rate)
        if kind == "smoothed":
            body = nn.Sequential(SharedSeparableFilter(2 * rate - 1), body)
        layers.append(_Residual(body))
    tail = {"drn": (2, 1), "decreasing": (3, 2, 1)}.get(kind, ())
    layers += [conv_bn_relu(width, width, 3, r) for r in tail]
    layers.append(nn.Conv2d(width, classes, 1))
    return nn.Sequential(*layers)


def centre_gradient(model: nn.Module, images: torch.Tensor) -> np.ndarray:
    """Mean ``|d (sum of the centre pixel's logits) / d input|`` over ``images`` (N, 1, H, W): (H, W).

    The trained model's effective receptive field (Luo et al. 2016) at the centre pixel; a
    gridding model shows the sub-grid pattern of its dilated layers here.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {model!r} ({type(model).__name__})")
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch tensor (N, C, H, W), got {type(images).__name__}")
    if images.ndim != 4 or images.numel() == 0 or not images.is_floating_point():
        raise ValueError(
            f"images must be a non-empty floating-point tensor (N, C, H, W), got shape {tuple(images.shape)} "
            f"and dtype {images.dtype}"
        )
    x = images.clone().requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        output = model(x)
    except RuntimeError as exc:  # channels or dtype the model does not take
        raise ValueError(f"model cannot run on images of shape {tuple(images.shape)}, {images.dtype}: {exc}") from exc
    finally:
        model.train(was_training)
    output[:, :, output.shape[-2] // 2, output.shape[-1] // 2].sum().backward()
    return x.grad.abs().mean(dim=(0, 1)).numpy()


def degridding_study(
    kinds: Sequence[str] = FIXES,
    runs: int = 2,
    steps: int = 60,
    size: int = 24,
    width: int = 8,
    rate: int = 4,
    batch: int = 4,
) -> dict[str, dict[str, Any]]:
    """Train every ``kind`` of ``gridding_net`` ``runs`` times on chapter 6's squares task; measure it.

    Each run: torch seed ``run``, Adam (lr 3e-3) for ``steps`` steps of ``batch`` fresh
    ``size x size`` images from a generator seeded ``100 + run``, in float64 on one thread
    (``demos.train``): another CPU's instruction set changes the rounding of some sums, which float32
    carried into the second decimal of an mIoU (0.8943 vs 0.8963); in float64 the largest change
    measured is 4e-4 (PyTorch without its vector kernels). Measured on 32 fixed test images
    (seed 7): mIoU (mean intersection-over-union of the two square classes), and the grid energy at
    period ``rate`` of ``centre_gradient`` on 8 of them (the artefact measure). Returns, per kind,
    the means over runs and the number of runs: ``{"miou", "miou_min", "miou_max", "grid_energy",
    "parameters", "runs"}``, and the first run's ``centre_gradient`` map as ``"gradient"``.
    """
    from .demos import mean_iou, squares_batch, train

    runs, steps, batch = check_int("runs", runs), check_int("steps", steps), check_int("batch", batch)
    size, width, rate = check_int("size", size, 21), check_int("width", width), check_int("rate", rate, 2)
    if size % rate:
        raise ValueError(f"size must be a multiple of rate (the grid period), got size={size}, rate={rate}")
    if isinstance(kinds, str) or not isinstance(kinds, Sequence) or not kinds:
        raise TypeError(f"kinds must be a non-empty sequence of names from {list(KINDS)}, got {kinds!r}")
    for kind in kinds:
        if not isinstance(kind, str) or kind not in KINDS:
            raise ValueError(f"kinds must hold names from {list(KINDS)}, got {kind!r}")
    test_x, test_y = squares_batch(32, size, rng=np.random.default_rng(7))

    results = {}
    for kind in kinds:
        scores, energies, gradients = [], [], []
        for run in range(runs):
            torch.manual_seed(run)
            model = gridding_net(kind, width, rate).double()
            rng = np.random.default_rng(100 + run)
            train(model, lambda rng=rng: squares_batch(batch, size, rng=rng), F.cross_entropy, steps, progress=False)
            with torch.no_grad():
                scores.append(mean_iou(model(test_x), test_y))
            gradients.append(centre_gradient(model, test_x[:8]))
            energies.append(grid_energy(gradients[-1], rate))
        results[kind] = {
            "miou": float(np.mean(scores)),
            "miou_min": float(np.min(scores)),
            "miou_max": float(np.max(scores)),
            "grid_energy": float(np.mean(energies)),
            "parameters": sum(p.numel() for p in model.parameters()),
            "runs": runs,
            "gradient": gradients[0],
        }
    return results
