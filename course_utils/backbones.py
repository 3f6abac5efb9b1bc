"""Output stride and atrous backbones (chapter 7): a tiny ResNet-like network and what it costs.

A classification backbone shrinks its input by 2 at each of five places: its *output stride*
(OS) is 32, so a 513x513 image leaves a 17x17 feature map. DeepLab (Chen et al. 2017, v2 and v3)
turns it into a dense predictor by removing the last strides and dilating every later 3x3
convolution by the stride it lost, so each layer keeps the receptive field it had:

    stage rate = product of the strides removed so far   (OS 16: last stage rate 2; OS 8: 2 and 4)

Multi-grid (DeepLabv3, section 3.2) multiplies the rates of the units of the last stage by
``multi_grid``, e.g. ``(1, 2, 4)``: at OS 16 the three units run at rates 2, 4, 8.

``TinyResNet`` has a 3x3 stem (stride 2) and four stages of residual units (strides 2, 2, 2, 2;
the last stage has ``len(multi_grid)`` units), so ``output_stride`` can be 4, 8, 16 or 32.
``measure_cost`` lets PyTorch count the multiply-adds (``FlopCounterMode``) and the activation memory
autograd keeps for the backward pass (``saved_tensors_hooks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass

import torch
from torch import nn

from ._checks import check_int, check_weights_budget
from .blocks import BatchNorm2d

__all__ = ["Cost", "ResidualUnit", "TinyResNet", "measure_cost"]

STRIDES = (2, 2, 2, 2, 2)  # stem, then stages 1-4: output stride 32 without dilation


class ResidualUnit(nn.Module):
    """``ReLU(x' + BN(conv3x3(ReLU(BN(conv3x3(x))))))``; ``x'`` is a strided 1x1 conv when shapes change.

    The first 3x3 convolution has stride ``stride`` and rate ``first_dilation`` (``dilation`` if not
    given), the second rate ``dilation``; 'same' padding (He et al. 2016's basic block, dilated as
    in torchvision's ``replace_stride_with_dilation``).
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1, first_dilation: int | None = None
    ):
        super().__init__()
        in_channels, out_channels = check_int("in_channels", in_channels), check_int("out_channels", out_channels)
        self.stride, self.dilation = check_int("stride", stride), check_int("dilation", dilation)
        first = self.dilation if first_dilation is None else check_int("first_dilation", first_dilation)
        check_weights_budget(
            f"in_channels={in_channels}, out_channels={out_channels}",
            9 * out_channels * (in_channels + out_channels) + in_channels * out_channels,
        )
        self.first_dilation = first
        d = self.dilation
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, padding=first, dilation=first, bias=False),
            BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=d, dilation=d, bias=False),
            BatchNorm2d(out_channels),
        )
        self.shortcut = (
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), BatchNorm2d(out_channels))
            if stride != 1 or in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class TinyResNet(nn.Module):
    """A ResNet-like backbone whose output stride is chosen: strides past it become dilation.

    Widths ``width * (1, 1, 2, 4, 8)`` for the stem and stages 1-4. When a stage's stride is
    removed, its later convolutions run at the new rate times ``multi_grid[unit]`` (last stage
    only) while its first convolution keeps the rate before it, as torchvision does, so every
    layer keeps the receptive field it had. ``self.plan`` lists ``(name, stride, first rate,
    rate)`` per stem/unit; ``main_path()`` the ``(k, s, d)`` of the convolutions from input to
    output, for ``receptive_field``. Input ``(N, in_channels, H, W)``, output
    ``(N, 8 * width, H / OS, W / OS)`` for ``H, W`` multiples of 32.
    """

    def __init__(
        self, width: int = 8, output_stride: int = 32, multi_grid: Sequence[int] = (1, 1, 1), in_channels: int = 3
    ):
        super().__init__()
        width = check_int("width", width)
        self.output_stride = check_int("output_stride", output_stride)
        if output_stride not in (4, 8, 16, 32):
            raise ValueError(f"output_stride must be 4, 8, 16 or 32, got {output_stride!r}")
        if isinstance(multi_grid, str) or not isinstance(multi_grid, Sequence) or not multi_grid:
            raise TypeError(f"multi_grid must be a non-empty sequence of integers, got {multi_grid!r}")
        self.multi_grid = tuple(check_int(f"multi_grid[{i}]", g) for i, g in enumerate(multi_grid))
        in_channels = check_int("in_channels", in_channels)
        check_weights_budget(f"width={width}, in_channels={in_channels}", 9 * 64 * (width + in_channels) ** 2)
        widths = [width, width, 2 * width, 4 * width, 8 * width]
        self.plan: list[tuple[str, int, int, int]] = []
        current, rate = 1, 1
        strides, rates = [], []
        for s in STRIDES:  # keep a stride while the output stride allows it, else dilate by it
            if current * s <= self.output_stride:
                current *= s
                strides.append(s)
            else:
                rate *= s
                strides.append(1)
            rates.append(rate)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, strides[0], padding=1, bias=False), BatchNorm2d(widths[0]), nn.ReLU()
        )
        self.plan.append(("stem", strides[0], 1, 1))
        stages = []
        for stage in range(1, 5):
            grid = self.multi_grid if stage == 4 else (1,)
            units = []
            for unit, g in enumerate(grid):
                stride = strides[stage] if unit == 0 else 1
                unit_rate = rates[stage] * g
                first = rates[stage - 1] if unit == 0 else unit_rate
                in_width = widths[stage - 1] if unit == 0 else widths[stage]
                units.append(ResidualUnit(in_width, widths[stage], stride, unit_rate, first))
                self.plan.append((f"stage {stage}.{unit + 1}", stride, first, unit_rate))
            stages.append(nn.Sequential(*units))
        self.stages = nn.Sequential(*stages)
        self.out_channels = widths[-1]

    def main_path(self) -> list[tuple[int, int, int]]:
        """``(kernel_size, stride, dilation)`` of every 3x3 convolution from input to output, in order."""
        layers = [(3, self.plan[0][1], 1)]
        for _, stride, first, rate in self.plan[1:]:
            layers += [(3, stride, first), (3, 1, rate)]
        return layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"x must be (N, C, H, W), got shape {tuple(x.shape)}")
        return self.stages(self.stem(x))


@dataclass(frozen=True)
class Cost:
    """What one training forward pass costs: multiply-adds, weights, saved activations, output size."""

    multiply_adds: int  # convolutions and matrix products, as counted by PyTorch's FlopCounterMode / 2
    parameters: int
    activation_bytes: int  # the tensors autograd keeps for the backward pass, beyond the input and the weights
    output_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("multiply_adds", "parameters", "activation_bytes"):
            check_int(name, getattr(self, name), 0)
        if not isinstance(self.output_shape, tuple):
            raise TypeError(f"output_shape must be a tuple of integers, got {self.output_shape!r}")
        for i, size in enumerate(self.output_shape):
            check_int(f"output_shape[{i}]", size, 0)


def measure_cost(model: nn.Module, input_shape: Sequence[int]) -> Cost:
    """Run one training forward pass of ``model`` on zeros of ``input_shape``; PyTorch counts its cost.

    Multiply-adds: ``torch.utils.flop_counter.FlopCounterMode`` counts every convolution and matrix
    product at the level where PyTorch executes it (so a convolution called through ``F.conv2d``, or
    one whose weight is computed by weight normalisation, counts too), 2 flops per multiply-add; for
    a convolution that is ``numel(output) * (C_in / groups) * kh * kw``. Biases, BatchNorm and
    activations are not counted. Activation memory: the bytes of the tensors autograd saves for the
    backward pass (``torch.autograd.graph.saved_tensors_hooks``), each storage once, leaving out the
    input and the parameters, which training holds anyway (BatchNorm's batch and running statistics,
    2 x 2 C numbers, are counted). ``output_shape``: the output's (the first one's, for a tuple).
    The pass runs on a copy of the model in training mode (BatchNorm with batch statistics, dropout
    on), so ``model``'s running statistics and the global random generator are left unchanged.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {model!r} ({type(model).__name__})")
    if isinstance(input_shape, str) or not isinstance(input_shape, Sequence) or not input_shape:
        raise TypeError(f"input_shape must be a sequence of positive integers, got {input_shape!r}")
    shape = tuple(check_int(f"input_shape[{i}]", s) for i, s in enumerate(input_shape))
    from torch.utils.flop_counter import FlopCounterMode

    copy = deepcopy(model).train()
    dtype = next(copy.parameters(), torch.zeros(())).dtype
    x = torch.zeros(shape, dtype=dtype)
    kept = [*copy.parameters(), x]  # held in memory whether or not autograd saves them
    held = {tensor.untyped_storage().data_ptr() for tensor in kept}
    saved: dict[int, int] = {}  # storage address -> bytes: a tensor saved twice is kept once

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in held:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    counter = FlopCounterMode(display=False)
    try:
        with torch.random.fork_rng(devices=[]), torch.enable_grad():
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), counter:
                output = copy(x)
    except RuntimeError as exc:  # a shape the model cannot take: say which argument, not torch's internals
        raise ValueError(f"model cannot run on zeros of input_shape={shape!r}: {exc}") from exc
    return Cost(
        multiply_adds=int(counter.get_total_flops()) // 2,
        parameters=sum(p.numel() for p in model.parameters()),
        activation_bytes=sum(saved.values()),
        output_shape=tuple((output[0] if isinstance(output, tuple) else output).shape),
    )
