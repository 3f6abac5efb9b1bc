"""Real network blocks built on dilated convolutions (PyTorch): DeepLabv3's ASPP and WaveNet.

A widely shared "Dilated Convolutions Cheatsheet" (anonymous web reference) sketches both but
leaves out what makes them work: its ASPP has no BatchNorm, ReLU or projection, and its WaveNet
block pads both sides, so its residual sum fails on shapes. These are the designs of the papers:

- ``ASPP``: Chen et al. (2017), "Rethinking Atrous Convolution for Semantic Image Segmentation"
  (DeepLabv3), section 3.3: a 1x1 branch, one 3x3 atrous branch per rate, image pooling, each
  with BatchNorm and ReLU; concatenation, then a 1x1 projection with BatchNorm, ReLU and dropout.
- ``WaveNetBlock`` / ``WaveNet``: van den Oord et al. (2016), "WaveNet: A Generative Model for Raw
  Audio": causal dilated convolutions, gated activation ``tanh(f) * sigmoid(g)``, residual and
  skip 1x1 convolutions, dilations doubling per layer and restarting per stack.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import (
    check_array_budget,
    check_bool,
    check_callable,
    check_dilations,
    check_float,
    check_int,
    check_weights_budget,
)
from .receptive_field import receptive_field

__all__ = [
    "ASPP",
    "BatchNorm2d",
    "Causality",
    "WaveNet",
    "WaveNetBlock",
    "conv_bn_relu",
    "future_leaks",
    "probe_receptive_field",
]


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` that also works when a training batch holds one value per channel.

    With ``N * H * W == 1`` (one image whose map is 1x1, as in ASPP's image-pooling branch, or any
    branch on a 1x1 feature map) the batch variance is undefined and ``nn.BatchNorm2d`` raises.
    This one normalises such a batch with its running statistics, as in eval mode, and leaves them
    unchanged; every other batch is handled exactly as by ``nn.BatchNorm2d``.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        check_int("num_features", num_features)
        check_weights_budget(f"num_features={num_features}", 4 * num_features)
        check_float("eps", eps, 0.0, min_open=True)
        if momentum is not None:
            check_float("momentum", momentum, 0.0, 1.0)
        check_bool("affine", affine)
        check_bool("track_running_stats", track_running_stats)
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.ndim == 4 and x.shape[0] * x.shape[2] * x.shape[3] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 1, dilation: int = 1) -> nn.Sequential:
    """Conv (no bias: BatchNorm has its own shift) -> BatchNorm -> ReLU, 'same' size for odd kernels."""
    in_channels = check_int("in_channels", in_channels)
    out_channels = check_int("out_channels", out_channels)
    kernel_size = check_int("kernel_size", kernel_size)
    dilation = check_int("dilation", dilation)
    check_weights_budget(
        f"in_channels={in_channels}, out_channels={out_channels}, kernel_size={kernel_size}",
        in_channels * out_channels * kernel_size**2,
    )
    padding = dilation * (kernel_size - 1) // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, dilation=dilation, bias=False),
        BatchNorm2d(out_channels),
        nn.ReLU(),
    )


class _ImagePooling(nn.Module):
    """Global average pool -> 1x1 conv -> BatchNorm -> ReLU -> bilinear upsampling to the input size."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.norm = BatchNorm2d(out_channels)  # a 1x1 map: one value per channel when N = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.relu(self.norm(self.conv(F.adaptive_avg_pool2d(x, 1))))
        return F.interpolate(pooled, size=x.shape[-2:], mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """Atrous Spatial Pyramid Pooling as in DeepLabv3.

    Input ``(N, in_channels, H, W)``, output ``(N, out_channels, H, W)`` for any ``H, W >= 1`` and
    any batch size (``BatchNorm2d`` handles a training batch with one value per channel). Branch ``i`` of
    ``self.branches`` is the 1x1 branch (``i = 0``) or the 3x3 branch at ``rates[i - 1]``; its
    receptive field on the input is ``2 * rate + 1``. When the feature map is no larger than a rate,
    that branch's off-centre taps only read padding and it degenerates into a 1x1 convolution
    (DeepLabv3, section 3.3), which is why image pooling is added.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int = 256,
        rates: Sequence[int] = (6, 12, 18),
        image_pooling: bool = True,
        dropout: float = 0.5,
    ):
        super().__init__()
        in_channels = check_int("in_channels", in_channels)
        out_channels = check_int("out_channels", out_channels)
        self.rates = check_dilations(rates, "rates")
        image_pooling = check_bool("image_pooling", image_pooling)
        if not 0.0 <= check_float("dropout", dropout) < 1.0:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        branches = len(self.rates) + 2
        check_weights_budget(
            f"in_channels={in_channels}, out_channels={out_channels} and {len(self.rates)} rates",
            branches * in_channels * out_channels * 9 + branches * out_channels**2,
        )
        self.branches = nn.ModuleList(
            [conv_bn_relu(in_channels, out_channels, 1)]
            + [conv_bn_relu(in_channels, out_channels, 3, rate) for rate in self.rates]
        )
        self.pooling = _ImagePooling(in_channels, out_channels) if image_pooling else None
        n_branches = len(self.branches) + (1 if image_pooling else 0)
        self.project = nn.Sequential(
            nn.Conv2d(n_branches * out_channels, out_channels, 1, bias=False),
            BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"x must be (N, C, H, W), got shape {tuple(x.shape)}")
        features = [branch(x) for branch in self.branches]
        if self.pooling is not None:
            features.append(self.pooling(x))
        return self.project(torch.cat(features, dim=1))


class WaveNetBlock(nn.Module):
    """One WaveNet layer: causal dilated conv -> tanh * sigmoid gate -> residual and skip 1x1 convs.

    ``forward(x)`` with ``x`` of shape ``(N, channels, T)`` returns ``(x + residual, skip)``, both
    ``(N, channels, T)``. Causality: the convolution is padded with ``dilation * (kernel_size - 1)``
    zeros on the left only, so output ``t`` depends on inputs ``<= t``.
    """

    def __init__(self, channels: int, dilation: int, kernel_size: int = 2):
        super().__init__()
        self.channels = check_int("channels", channels)
        self.dilation = check_int("dilation", dilation)
        self.kernel_size = check_int("kernel_size", kernel_size)
        check_weights_budget(
            f"channels={channels}, kernel_size={kernel_size}", 2 * channels**2 * self.kernel_size + channels**2
        )
        self.causal_padding = self.dilation * (self.kernel_size - 1)
        self.conv = nn.Conv1d(channels, 2 * channels, kernel_size, dilation=dilation)
        self.residual = nn.Conv1d(channels, channels, 1)
        self.skip = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor (N, {self.channels}, T), got {type(x).__name__}")
        if x.ndim != 3 or x.shape[1] != self.channels or x.shape[2] == 0:
            raise ValueError(f"x must be (N, {self.channels}, T), got shape {tuple(x.shape)}")
        filter_part, gate_part = self._causal_conv(x).chunk(2, dim=1)
        gated = torch.tanh(filter_part) * torch.sigmoid(gate_part)
        return x + self.residual(gated), self.skip(gated)

    def _causal_conv(self, x: torch.Tensor) -> torch.Tensor:
        """The causal dilated convolution, padded by no more than a length-T input can use.

        Tap ``j`` reads ``x[t - (k - 1 - j) d]``. When ``d >= T`` every tap but the last reaches
        ``T`` or more steps back, so it reads left padding at every ``t`` and adds exactly zero;
        any dilation ``>= T`` then gives the same sums, and ``T`` needs the least padding. Without
        this, a deep stack on a short input padded ``2^l`` zeros at layer ``l`` (time and memory
        doubling per layer). When ``d < T`` (the usual case) this is the plain padded convolution.
        """
        length = x.shape[-1]
        if self.dilation < length:
            return self.conv(F.pad(x, (self.causal_padding, 0)))
        padded = F.pad(x, (length * (self.kernel_size - 1), 0))
        return F.conv1d(padded, self.conv.weight, self.conv.bias, dilation=length)


class WaveNet(nn.Module):
    """A stack of ``WaveNetBlock``: dilations 1, 2, 4, ..., 2^(n_layers-1), repeated ``n_stacks`` times.

    ``forward`` takes ``(N, channels, T)`` and returns the sum of the blocks' skip outputs,
    ``(N, channels, T)``. ``receptive_field`` is ``1 + n_stacks (k - 1)(2^n_layers - 1)``, computed
    with ``course_utils.receptive_field`` (1024 for kernel 2 and dilations 1..512).
    """

    def __init__(self, channels: int, n_layers: int, n_stacks: int = 1, kernel_size: int = 2):
        super().__init__()
        check_int("channels", channels)
        # dilation 2^(n_layers - 1) times (k - 1) must stay a 64-bit integer for PyTorch
        n_layers = check_int("n_layers", n_layers, 1, 48)
        n_stacks = check_int("n_stacks", n_stacks)
        if n_stacks * n_layers > MAX_BLOCKS:
            raise ValueError(
                f"n_stacks x n_layers must be at most {MAX_BLOCKS} blocks, got n_stacks={n_stacks}, n_layers={n_layers}"
            )
        check_int("kernel_size", kernel_size, 1, 2**14)
        check_weights_budget(
            f"channels={channels}, kernel_size={kernel_size} and {n_stacks * n_layers} blocks",
            n_stacks * n_layers * (2 * channels**2 * kernel_size + channels**2),
        )
        self.dilations = tuple(2**i for _ in range(n_stacks) for i in range(n_layers))
        self.blocks = nn.ModuleList([WaveNetBlock(channels, d, kernel_size) for d in self.dilations])
        self.receptive_field = receptive_field([(kernel_size, 1, d) for d in self.dilations]).size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor (N, channels, T), got {type(x).__name__}")
        skips = torch.zeros_like(x)
        for block in self.blocks:
            x, skip = block(x)
            skips = skips + skip
        return skips


def probe_receptive_field(module: nn.Module, channels: int, length: int) -> int:
    """Receptive field of the last output of a 1D module, measured by autograd, not by formula.

    Feeds a random float64 input ``(1, channels, length)``, back-propagates from the last time step
    and returns how many steps back the earliest input with a non-zero gradient lies (inclusive).
    ``length`` must exceed the receptive field, or the answer is cut at ``length``.

    Returns 0 when no input reaches the last output on this draw: a ReLU network whose last ReLU
    is off there (its gradient is exactly zero), or an output that does not depend on the input at
    all. The probe is random; take the largest of several draws to measure a ReLU network's field.
    """
    check_callable("module", module)
    channels, length = check_int("channels", channels), check_int("length", length)
    check_array_budget(f"channels={channels} x length={length}", channels * length)
    x = torch.randn(1, channels, length, dtype=torch.float64, requires_grad=True)
    output = (module.double() if isinstance(module, nn.Module) else module)(x)
    output = output[0] if isinstance(output, tuple) else output
    last = output[..., -1].sum()
    if not last.requires_grad:  # no path from the input at all: nothing to back-propagate
        return 0
    last.backward()
    if x.grad is None:
        return 0
    reached = torch.nonzero(x.grad.abs().sum(dim=1)[0]).flatten()
    return length - int(reached.min()) if len(reached) else 0


class Causality(NamedTuple):
    future: int  # non-zero gradients of y[t] w.r.t. inputs after t, over all t (0 = causal)
    blind_to_present: int  # time steps t where y[t] does not depend on x[t]


def future_leaks(module: Callable[[torch.Tensor], Any], channels: int, length: int) -> Causality:
    """Causality check of a 1D module (or function) by autograd, for every output time step.

    Feeds a random float64 input ``(1, channels, length)`` and back-propagates from each ``y[t]``;
    ``future`` counts the non-zero gradients w.r.t. inputs after ``t`` (a causal module gives 0).
    ``blind_to_present`` counts the steps whose output ignores ``x[t]`` itself.
    """
    check_callable("module", module)
    channels = check_int("channels", channels)
    length = check_int("length", length, 1, MAX_PROBE_STEPS)  # one backward pass per time step
    check_array_budget(f"channels={channels} x length={length}", channels * length)
    x = torch.randn(1, channels, length, dtype=torch.float64, requires_grad=True)
    output = (module.double() if isinstance(module, nn.Module) else module)(x)
    output = output[0] if isinstance(output, tuple) else output
    future = blind = 0
    for t in range(min(length, output.shape[-1])):
        (grad,) = torch.autograd.grad(output[..., t].sum(), x, retain_graph=True)
        future += int((grad[..., t + 1 :] != 0).sum())
        blind += int(not grad[..., t].abs().sum() > 0)
    return Causality(future, blind)


# Chapter 7: the blocks of dilated backbones and sequence models ----------------------------------


MAX_BLOCKS = 4096  # blocks of one WaveNet
MAX_PROBE_STEPS = 4096  # time steps future_leaks back-propagates from, one at a time


def _check_probability(name: str, value: Any) -> float:
    """A number in [0, 1) (a NumPy float such as ``np.float32(0.2)`` too, as in ``ASPP``)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1), got {value!r}")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")
    return float(value)


def _check_bool(name: str, value: Any) -> bool:
    return check_bool(name, value)  # True/False or a NumPy bool (np.True_), as everywhere else


class SeparableAtrousConv2d(nn.Module):
    """Atrous depthwise-separable convolution of DeepLabv3+ (Chen et al. 2018, section 3.1).

    ``depthwise``: a ``k x k`` convolution at rate ``d`` applied to each input channel on its own
    (``groups = in_channels``); ``pointwise``: a 1x1 convolution that mixes channels. It equals one
    ordinary convolution whose kernel is the rank-structured ``W[o, c, p, q] = P[o, c] * D[c, p, q]``,
    with ``C k^2 + C O`` weights instead of ``C O k^2`` (and the same ratio of multiply-adds per pixel):

        ratio = (k^2 + O) / (k^2 O) = 1/O + 1/k^2.

    'same' padding ``d (k - 1) / 2`` (odd ``k``); no bias, no normalisation in between (DeepLabv3+
    inserts BatchNorm and ReLU there; this block keeps the pure composition, to compare it exactly).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, dilation: int = 1):
        super().__init__()
        in_channels = check_int("in_channels", in_channels)
        out_channels = check_int("out_channels", out_channels)
        kernel_size = check_int("kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd ('same' padding centres the kernel), got {kernel_size}")
        check_weights_budget(
            f"in_channels={in_channels}, out_channels={out_channels}, kernel_size={kernel_size}",
            in_channels * kernel_size**2 + in_channels * out_channels,
        )
        dilation = check_int("dilation", dilation)
        padding = dilation * (kernel_size - 1) // 2
        self.depthwise = nn.Conv2d(
            in_channels, in_channels, kernel_size, padding=padding, dilation=dilation, groups=in_channels, bias=False
        )
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.depthwise.in_channels:
            raise ValueError(f"x must be (N, {self.depthwise.in_channels}, H, W), got shape {tuple(x.shape)}")
        return self.pointwise(self.depthwise(x))

    def dense_weight(self) -> torch.Tensor:
        """The equivalent ordinary kernel ``(O, C, k, k)``: ``P[o, c] * D[c, p, q]``."""
        return self.pointwise.weight[:, :, 0, 0, None, None] * self.depthwise.weight[:, 0][None]


class ContextModule(nn.Module):
    """The basic context module of Yu & Koltun (2016), "Multi-Scale Context Aggregation by Dilated Convolutions".

    ``channels`` maps in, ``channels`` out, the same size (table 1 of the paper): 3x3 layers at rates
    ``1, 1, 2, 4, 8, 16, 1``, each followed by a ReLU, then a 1x1 layer without one. Receptive field
    after each layer: 3, 5, 9, 17, 33, 65, 67, 67. With ``identity_init=True`` every kernel is the
    identity ``w[o, c, p, q] = [o = c][p = q = centre]`` and every bias 0 (the paper's section 3),
    so the module returns its input unchanged when the input is non-negative, as the ReLU or
    softmax outputs of a front end are. ``identity_init=False`` keeps PyTorch's random init.
    """

    RATES = (1, 1, 2, 4, 8, 16, 1)

    def __init__(self, channels: int, rates: Sequence[int] = RATES, identity_init: bool = True):
        super().__init__()
        self.channels = check_int("channels", channels)
        if isinstance(rates, str) or not isinstance(rates, Sequence) or not rates:
            raise TypeError(f"rates must be a non-empty sequence of integers, got {rates!r}")
        self.rates = tuple(check_int(f"rates[{i}]", r) for i, r in enumerate(rates))
        identity_init = _check_bool("identity_init", identity_init)
        check_weights_budget(f"channels={channels} and {len(self.rates)} rates", len(self.rates) * 9 * channels**2)
        layers: list[nn.Module] = []
        for rate in self.rates:
            layers += [nn.Conv2d(channels, channels, 3, padding=rate, dilation=rate), nn.ReLU()]
        layers.append(nn.Conv2d(channels, channels, 1))
        self.layers = nn.Sequential(*layers)
        self.receptive_field = receptive_field([(3, 1, r) for r in self.rates] + [(1, 1, 1)]).size
        if identity_init:
            self.reset_to_identity()

    @torch.no_grad()
    def reset_to_identity(self) -> None:
        """Set every kernel to the identity (centre tap, ``o = c``) and every bias to zero."""
        for layer in self.layers:
            if isinstance(layer, nn.Conv2d):
                layer.weight.zero_()
                centre = layer.kernel_size[0] // 2
                layer.weight[:, :, centre, centre].copy_(torch.eye(self.channels))
                layer.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"x must be (N, {self.channels}, H, W), got shape {tuple(x.shape)}")
        return self.layers(x)


class TemporalBlock(nn.Module):
    """The residual block of a Temporal Convolutional Network (Bai, Kolter & Koltun 2018, figure 1b).

    Two causal dilated convolutions (``d (K - 1)`` zeros on the left only), each with weight
    normalisation (Salimans & Kingma 2016), ReLU and dropout; the block's input is added back,
    through a 1x1 convolution when the channel count changes, and a final ReLU:
    ``y = ReLU(x' + F(x))``. Receptive field of one block: ``1 + 2 (K - 1) d``, each of the two
    convolutions adding the ``(K - 1) d`` the paper states per layer. Dropout here is element-wise
    (``nn.Dropout``, as in the authors' reference code); the paper describes spatial dropout, which
    zeroes whole channels.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int, dropout: float = 0.2):
        super().__init__()
        from torch.nn.utils.parametrizations import weight_norm

        self.in_channels = check_int("in_channels", in_channels)
        out_channels = check_int("out_channels", out_channels)
        kernel_size = check_int("kernel_size", kernel_size)
        self.dilation = check_int("dilation", dilation)
        dropout = _check_probability("dropout", dropout)
        check_weights_budget(
            f"in_channels={in_channels}, out_channels={out_channels}, kernel_size={kernel_size}",
            (in_channels + out_channels + 1) * out_channels * kernel_size,
        )
        self.causal_padding = self.dilation * (kernel_size - 1)
        self.conv1 = weight_norm(nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation))
        self.conv2 = weight_norm(nn.Conv1d(out_channels, out_channels, kernel_size, dilation=dilation))
        self.dropout = nn.Dropout(dropout)
        self.downsample = nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be (N, {self.in_channels}, T), got shape {tuple(x.shape)}")
        h = self.dropout(F.relu(self._causal(self.conv1, x)))
        h = self.dropout(F.relu(self._causal(self.conv2, h)))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))

    def _causal(self, conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
        length = x.shape[-1]
        if self.dilation <= length:
            return conv(F.pad(x, (self.causal_padding, 0)))
        # A rate past the sequence: every tap but the last reads padding, for any rate >= T, so rate T
        # gives the same output without d (K - 1) zeros of padding (as WaveNetBlock does).
        padded = F.pad(x, (length * (conv.kernel_size[0] - 1), 0))
        return F.conv1d(padded, conv.weight, conv.bias, dilation=length)


class TCN(nn.Module):
    """A Temporal Convolutional Network: one ``TemporalBlock`` per entry of ``channels``, dilation ``2^i``.

    Input ``(N, in_channels, T)``, output ``(N, channels[-1], T)``, causal. Bai, Kolter & Koltun
    (2018, section 3) state that one dilated layer adds ``(K - 1) d``; the factor 2 is derived
    here, not stated there: their residual block (figure 1b) holds two convolutions at the same
    rate, so ``receptive_field = 1 + 2 (K - 1) sum_i d_i = 1 + 2 (K - 1)(2^L - 1)`` for ``L``
    blocks, computed by the closed form of chapter 4. Dropout is element-wise, as in the authors'
    reference code, where the paper describes spatial dropout (whole channels zeroed).
    """

    def __init__(self, in_channels: int, channels: Sequence[int], kernel_size: int = 2, dropout: float = 0.2):
        super().__init__()
        check_int("in_channels", in_channels)
        if isinstance(channels, str) or not isinstance(channels, Sequence) or not channels:
            raise TypeError(f"channels must be a non-empty sequence of integers, got {channels!r}")
        widths = [check_int(f"channels[{i}]", c) for i, c in enumerate(channels)]
        if len(widths) > 48:  # dilation 2^(L - 1) times (K - 1) must stay a 64-bit integer for PyTorch
            raise ValueError(f"channels must have at most 48 entries (blocks), got {len(widths)}")
        kernel_size = check_int("kernel_size", kernel_size, 1, 2**14)
        dropout = _check_probability("dropout", dropout)
        self.dilations = tuple(2**i for i in range(len(widths)))
        ins = [in_channels, *widths[:-1]]
        self.blocks = nn.Sequential(
            *[TemporalBlock(i, o, kernel_size, d, dropout) for i, o, d in zip(ins, widths, self.dilations, strict=True)]
        )
        self.receptive_field = receptive_field([(kernel_size, 1, d) for d in self.dilations for _ in (1, 2)]).size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3:
            raise ValueError(f"x must be (N, C, T), got shape {tuple(x.shape)}")
        return self.blocks(x)


def probe_receptive_field_2d(module: nn.Module, channels: int, size: int, *, seed: int = 0) -> tuple[int, int]:
    """Receptive field (height, width) of a 2D module's centre output pixel, measured by autograd.

    Feeds a seeded random float64 input ``(1, channels, size, size)``, back-propagates from the
    centre output pixel (all channels) and returns the extent of the input pixels with a non-zero
    gradient. ``size`` must exceed the receptive field, or the answer is cut at ``size``. A module
    at identity initialisation reaches only the centre: probe a randomly initialised copy.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {module!r} ({type(module).__name__})")
    channels, size = check_int("channels", channels), check_int("size", size)
    check_array_budget(f"channels={channels} x size={size} x size", channels * size * size)
    generator = torch.Generator().manual_seed(check_int("seed", seed, 0))
    x = torch.randn(1, channels, size, size, dtype=torch.float64, generator=generator, requires_grad=True)
    try:
        output = module.double()(x)
    except (RuntimeError, ValueError) as exc:  # the module's own complaint, said in this function's terms
        raise ValueError(
            f"module cannot run on an input (1, channels={channels}, size={size}, size={size}): {exc}"
        ) from exc
    output[..., output.shape[-2] // 2, output.shape[-1] // 2].sum().backward()
    rows, cols = torch.nonzero(x.grad.abs().sum(dim=(0, 1)), as_tuple=True)
    if len(rows) == 0:
        return (0, 0)
    return (int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1)


__all__ += ["ContextModule", "SeparableAtrousConv2d", "TCN", "TemporalBlock", "probe_receptive_field_2d"]
