"""Small synthetic tasks for chapter 6, generated and seeded (no data set is downloaded).

- ``squares_batch``: images with filled squares of two sizes; a pixel's label is the size class of
  the square it lies in. Deep inside a square the neighbourhood looks the same for both sizes: only
  a receptive field that reaches the square's far edges can tell them apart.
- ``delay_batch``: sequences whose target is the input ``delay`` steps back, ``y[t] = x[t - delay]``:
  a causal model can only succeed if its receptive field covers ``delay + 1`` samples.

``train`` is a plain Adam loop with a progress bar; ``mean_iou`` scores segmentations.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ._checks import check_array_budget, check_bool, check_callable, check_float, check_int, check_sequence, check_str

__all__ = ["delay_batch", "mean_iou", "squares_batch", "train"]

SMALL, LARGE = (4, 6), (10, 13)  # side lengths (inclusive) of the two classes of squares
MAX_PIXELS = 2**24  # n x size x size of one squares_batch


def _check_rng(rng: object) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng(0)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or None, got {rng!r}")
    return rng


def squares_batch(
    n: int, size: int = 32, rng: np.random.Generator | None = None, noise: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images (n, 1, size, size) float64 with two non-overlapping filled squares, and labels.

    Labels (n, size, size) int64: 0 background, 1 inside a small square (side 5-8), 2 inside a
    large one (side 13-17). Each image holds one square of each class at random positions,
    plus Gaussian noise of standard deviation ``noise``.
    """
    n = check_int("n", n)
    size = check_int("size", size, LARGE[1] + SMALL[1] + 2)
    noise = check_float("noise", noise, 0.0)
    if n * size * size > MAX_PIXELS:  # 16 bytes a pixel (image and label), counted before allocating
        raise ValueError(
            f"n x size x size must be at most {MAX_PIXELS:,} pixels (about 270 MB), got n={n}, size={size}"
        )
    rng = _check_rng(rng)
    images = rng.normal(0.0, noise, (n, 1, size, size))
    labels = np.zeros((n, size, size), dtype=np.int64)
    for i in range(n):
        while True:  # a large square in the middle of a small image can leave no room: draw both again
            occupied, placed = np.zeros((size, size), dtype=bool), []
            for label, (low, high) in ((2, LARGE), (1, SMALL)):
                if not _room_for(occupied, low):
                    break
                while True:
                    side = int(rng.integers(low, high + 1))
                    top, left = (int(v) for v in rng.integers(0, size - side + 1, 2))
                    box = (slice(max(top - 1, 0), top + side + 1), slice(max(left - 1, 0), left + side + 1))
                    if not occupied[box].any():  # a one-pixel gap keeps the squares apart
                        break
                occupied[top : top + side, left : left + side] = True
                placed.append((label, top, left, side))
            else:
                break
        for label, top, left, side in placed:
            labels[i, top : top + side, left : left + side] = label
            images[i, 0, top : top + side, left : left + side] += 1.0
    return torch.from_numpy(images), torch.from_numpy(labels)


def _room_for(occupied: np.ndarray, side: int) -> bool:
    """Whether a ``side x side`` square with its one-pixel gap fits somewhere free of ``occupied``."""
    size = occupied.shape[0]
    total = np.zeros((size + 1, size + 1), dtype=np.int64)
    total[1:, 1:] = occupied.cumsum(0).cumsum(1)
    starts = np.arange(size - side + 1)
    low, high = np.maximum(starts - 1, 0), np.minimum(starts + side + 1, size)
    inside = total[high][:, high] - total[low][:, high] - total[high][:, low] + total[low][:, low]
    return bool((inside == 0).any())


def delay_batch(
    n: int, length: int, delay: int, rng: np.random.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """White-noise inputs (n, 1, length) and targets ``y[t] = x[t - delay]`` (zero for ``t < delay``)."""
    n, length = check_int("n", n), check_int("length", length)
    delay = check_int("delay", delay, 0)
    if delay >= length:
        raise ValueError(f"delay must be shorter than the sequence, got delay={delay} for length={length}")
    check_array_budget(f"n={n} x length={length}", n * length)
    rng = _check_rng(rng)
    x = rng.standard_normal((n, 1, length))
    y = np.zeros_like(x)
    y[..., delay:] = x[..., : length - delay]
    return torch.from_numpy(x), torch.from_numpy(y)


Batch = tuple[torch.Tensor, torch.Tensor]


def train(
    model: torch.nn.Module,
    make_batch: Callable[[], Batch] | list[Batch] | tuple[Batch, ...],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    steps: int,
    lr: float = 3e-3,
    desc: str = "training",
    progress: bool = True,
) -> list[float]:
    """Adam for ``steps`` steps; returns the losses. Shows a tqdm progress bar.

    ``make_batch`` is a function returning a fresh ``(inputs, targets)`` pair at each step, or a
    list of such pairs drawn beforehand and taken in order (several models can then train on the
    very same images without drawing them again).

    Runs on one PyTorch thread whatever the caller set (restored afterwards), so the order of the
    sums does not depend on the thread count; with a float64 model, what another CPU's instruction
    set changes stays in the last digits of the weights.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {model!r}")
    check_callable("loss_fn", loss_fn)
    steps = check_int("steps", steps)
    if isinstance(make_batch, (list, tuple)):
        if len(make_batch) < steps:
            raise ValueError(f"make_batch holds {len(make_batch)} batches, fewer than steps={steps}")
        make_batch = iter(make_batch).__next__
    else:
        check_callable("make_batch", make_batch)
    lr = check_float("lr", lr, 0.0, min_open=True)
    check_str("desc", desc)
    progress = check_bool("progress", progress)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(model, make_batch, loss_fn, steps, lr, desc, progress)
    finally:
        torch.set_num_threads(threads)


def _train(
    model: torch.nn.Module,
    make_batch: Callable[[], Batch],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    steps: int,
    lr: float,
    desc: str,
    progress: bool,
) -> list[float]:
    # fused: one C++ kernel per step instead of a dozen small ops per parameter (a quarter of a
    # small model's step time); the same update, computed in the same order on any thread count
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    model.train()
    losses = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        # Steps and loss, no clock: the bar's stored state (its last frame) is the same on every run.
        bar = tqdm(total=steps, desc=desc, leave=True, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt}{postfix}")
    for _ in range(steps):
        batch = make_batch()
        if not (isinstance(batch, tuple) and len(batch) == 2):
            raise TypeError(f"make_batch must give (inputs, targets) pairs, got {type(batch).__name__}: {batch!r:.80}")
        inputs, targets = batch
        optimiser.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    if bar is not None:
        bar.close()
    model.eval()
    return losses


def mean_iou(logits_or_labels: torch.Tensor, target: torch.Tensor, classes: tuple[int, ...] = (1, 2)) -> float:
    """Mean intersection-over-union over ``classes``; accepts logits (N, K, H, W) or labels (N, H, W)."""
    for name, value in (("logits_or_labels", logits_or_labels), ("target", target)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if value.ndim not in (3, 4):
            raise ValueError(f"{name} must be (N, K, H, W) logits or (N, H, W) labels, got shape {tuple(value.shape)}")
    if target.ndim != 3:
        raise ValueError(f"target must be (N, H, W) labels, got shape {tuple(target.shape)}")
    classes = tuple(check_int(f"classes[{i}]", c, 0) for i, c in enumerate(check_sequence("classes", classes)))
    predicted = logits_or_labels.argmax(dim=1) if logits_or_labels.ndim == 4 else logits_or_labels
    if predicted.shape != target.shape:
        raise ValueError(
            f"logits_or_labels and target disagree: predicted labels {tuple(predicted.shape)} vs target "
            f"{tuple(target.shape)}"
        )
    scores = []
    for c in classes:
        union = ((predicted == c) | (target == c)).sum().item()
        if union:
            scores.append(((predicted == c) & (target == c)).sum().item() / union)
    return float(np.mean(scores)) if scores else float("nan")
