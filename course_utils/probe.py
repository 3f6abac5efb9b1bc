"""The gradient probe of Jonas1312's notebook "Dilation Rate Gridding Problem and How to Solve It
With the Fibonacci Sequence" (GitHub ``Jonas1312/dilation-rate-as-fibonacci-sequence``) in PyTorch,
and the effective receptive field of Luo et al. (2016).

The probe builds a stack of single-channel k x k convolutions (no bias, zero 'same' padding, one
per dilation rate), runs it on a size x size input and returns the gradient of the centre output
pixel w.r.t. the input: which input pixels reach that output, and how strongly. With all-ones
weights and a zero input this is an exact path count, and ``receptive_field.gradient_map``
computes the same integers without PyTorch. Computations run in float64, so counts stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch

from ._checks import check_choice, check_dilations, check_int

__all__ = ["build_stack", "effective_receptive_field", "gradient_probe"]

Weights = Literal["ones", "random"]
Nonlinearity = Literal["relu", "tanh"] | None
_NONLINEARITIES = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}
MAX_PROBE_BYTES = 512 * 2**20


def build_stack(
    dilations: Sequence[int],
    kernel_size: int = 3,
    weights: Weights = "ones",
    nonlinearity: Nonlinearity = None,
    generator: torch.Generator | None = None,
) -> torch.nn.Sequential:
    """The gridding notebook's network: one Conv2d(1, 1, k, padding='same', dilation=d, bias=False) per rate.

    ``weights="ones"`` fills every kernel with 1 (as that notebook does); ``"random"`` draws He-normal weights
    (std sqrt(2 / k^2)) from ``generator``. ``nonlinearity`` ("relu" or "tanh") follows every
    convolution but the last.
    """
    rates = check_dilations(dilations)
    k = check_int("kernel_size", kernel_size)
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd ('same' padding centres the kernel), got kernel_size={k}")
    check_choice("weights", weights, ("ones", "random"))
    check_choice("nonlinearity", nonlinearity, (None, *_NONLINEARITIES))
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {generator!r}")
    layers: list[torch.nn.Module] = []
    for index, d in enumerate(rates):
        conv = torch.nn.Conv2d(1, 1, k, padding="same", dilation=d, bias=False, padding_mode="zeros")
        conv = conv.to(torch.float64)
        with torch.no_grad():
            if weights == "ones":
                conv.weight.fill_(1.0)
            else:
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator, dtype=torch.float64))
                conv.weight.mul_((2.0 / (k * k)) ** 0.5)
        layers.append(conv)
        if nonlinearity is not None and index < len(rates) - 1:
            layers.append(_NONLINEARITIES[nonlinearity]())
    return torch.nn.Sequential(*layers)


def gradient_probe(
    dilations: Sequence[int],
    size: int,
    kernel_size: int = 3,
    weights: Weights = "ones",
    *,
    seed: int = 0,
    nonlinearity: Nonlinearity = None,
    input: Literal["zeros", "random"] = "zeros",  # noqa: A002 - the gridding notebook's word for the image
) -> np.ndarray:
    """d(centre output)/d(input) of the ``build_stack`` network on a ``size x size`` image, as float64.

    ``input="zeros"`` is the gridding notebook's probe (linear stacks only: at zero input a ReLU has zero
    gradient); ``"random"`` draws a standard-normal image from ``seed``. Random weights come from
    ``seed`` too, so a call is reproducible.
    """
    size = check_int("size", size)
    seed = check_int("seed", seed, 0)
    check_choice("input", input, ("zeros", "random"))
    if nonlinearity is not None and input == "zeros":
        raise ValueError(
            f"nonlinearity={nonlinearity!r} with input='zeros' gives a zero gradient everywhere "
            "(a ReLU is flat at 0); use input='random'"
        )
    # A rate of at least ``size`` leaves only the centre tap inside the image, whatever the rate, so
    # rate ``size`` gives the same gradient with far less padding (the same weights are drawn).
    rates = tuple(min(d, size) for d in check_dilations(dilations))
    k = check_int("kernel_size", kernel_size)
    cost = sum(16 * (size + (k - 1) * d) ** 2 for d in rates)  # padded float64 maps, kept for backward
    if cost > MAX_PROBE_BYTES:
        raise ValueError(
            f"size={size}, kernel_size={k} and {len(rates)} layers need about {cost / 2**20:,.0f} MB for the "
            f"probe; it stops at {MAX_PROBE_BYTES // 2**20} MB (use a smaller image, kernel or stack)"
        )
    generator = torch.Generator().manual_seed(int(seed))
    net = build_stack(rates, kernel_size, weights, nonlinearity, generator)
    if input == "zeros":
        image = torch.zeros((1, 1, size, size), dtype=torch.float64)
    else:
        image = torch.randn((1, 1, size, size), generator=generator, dtype=torch.float64)
    image.requires_grad_(True)
    output = net(image)
    output[0, 0, size // 2, size // 2].backward()
    return image.grad[0, 0].numpy().copy()


def effective_receptive_field(
    dilations: Sequence[int],
    size: int,
    n_samples: int = 32,
    kernel_size: int = 3,
    *,
    nonlinearity: Nonlinearity = "relu",
    seed: int = 0,
) -> np.ndarray:
    """Mean |gradient| of the centre output over ``n_samples`` random initialisations and inputs.

    After Luo et al. (2016), "Understanding the Effective Receptive Field in Deep CNNs": the
    effective receptive field is where that mean is substantial. Each sample draws new He-normal
    weights and a new standard-normal input from one seeded generator. Returns (size, size) float64.
    """
    n_samples = check_int("n_samples", n_samples, 1, 4096)  # one probe each: thousands take minutes
    seed = check_int("seed", seed, 0)
    total: np.ndarray | float = 0.0  # the first sample sets the shape (after the probe's own checks)
    for sample in range(n_samples):
        total = total + np.abs(
            gradient_probe(
                dilations,
                size,
                kernel_size,
                "random",
                seed=int(seed) * 100_003 + sample,
                nonlinearity=nonlinearity,
                input="random",
            )
        )
    return total / n_samples
