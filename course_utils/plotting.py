"""Figures shared by several chapters. Every plot gets a title, axis labels and a colour bar."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._checks import (
    check_array,
    check_bool,
    check_cmap,
    check_dilations,
    check_float,
    check_int,
    check_optional,
    check_sequence,
    check_str,
)
from .conv import dilate_kernel, effective_kernel_size

TAP_COLOUR = "#1f77b4"


def plot_dilated_kernels(kernel_size: int = 3, dilations: Sequence[int] = (1, 2, 4)):
    """The kernel with holes: a k x k kernel drawn at its dilated positions for each rate.

    Filled cells are the k*k weights; white cells are the zeros a dilated kernel skips. Every panel
    is drawn on the grid of the largest rate so the spans compare at one scale.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    k = check_int("kernel_size", kernel_size)
    rates = list(check_dilations(dilations))
    biggest = effective_kernel_size(k, max(rates))
    if biggest > 257:  # beyond that a cell is smaller than a pixel of the figure
        raise ValueError(
            f"kernel_size={k} with dilations up to {max(rates)} spans {biggest} cells; the drawing stops at 257"
        )
    fig, axes = plt.subplots(1, len(rates), figsize=(3.0 * len(rates), 3.3), squeeze=False)
    for ax, d in zip(axes[0], rates, strict=True):
        taps = dilate_kernel(np.ones((k, k)), d)
        span = taps.shape[0]
        canvas = np.full((biggest, biggest), np.nan)
        start = (biggest - span) // 2
        canvas[start : start + span, start : start + span] = taps
        ax.imshow(canvas, cmap=ListedColormap(["white", TAP_COLOUR]), vmin=0, vmax=1)
        ax.add_patch(plt.Rectangle((start - 0.5, start - 0.5), span, span, fill=False, ec="crimson", lw=1.5, zorder=3))
        edges = np.arange(-0.5, biggest, 1.0)  # cell borders, drawn only over the grid itself
        ax.hlines(edges, -0.5, biggest - 0.5, color="0.6", linewidth=0.6)
        ax.vlines(edges, -0.5, biggest - 0.5, color="0.6", linewidth=0.6)
        # Half a cell of margin, so a span frame on the outermost cells is not cut by the axes edge.
        ax.set_xlim(-1.0, biggest)
        ax.set_ylim(biggest, -1.0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"d = {d}: {k}x{k} weights span {span}x{span}")
        ax.set_xlabel(f"{k * k} weights, {span * span - k * k} holes")
    fig.suptitle(f"A {k}x{k} kernel at dilation {', '.join(map(str, rates))} (red: its span)")
    fig.tight_layout()
    return fig


def _check_panels(
    kind: str, images: Any, titles: Any, ndim: tuple[int, ...], suptitle: Any, ncols: Any, size: Any
) -> tuple[list[np.ndarray], list[str]]:
    """Shared checks of show_images and plot_maps: panels, one title each, layout numbers."""
    arrays = [check_array(f"{kind}[{i}]", a, ndim=ndim) for i, a in enumerate(check_sequence(kind, images))]
    names = [check_str(f"titles[{i}]", t) for i, t in enumerate(check_sequence("titles", titles, allow_empty=True))]
    if len(arrays) != len(names):
        raise ValueError(f"{kind} and titles must have the same length, got {len(arrays)} and {len(names)}")
    check_str("suptitle", suptitle)
    check_optional(check_int, "ncols", ncols)
    check_float("size", size, 0.0, 50.0, min_open=True)
    return arrays, names


def _per_panel(name: str, value: Any, count: int, check: Any, single: type | tuple[type, ...]) -> list[Any]:
    """One value for every panel, or a sequence of exactly one value per panel."""
    if isinstance(value, single):
        return [check(name, value)] * count
    values = check_sequence(name, value)
    if len(values) != count:
        raise ValueError(f"{name} must be one value or one per panel ({count}), got {value!r}")
    return [check(f"{name}[{i}]", v) for i, v in enumerate(values)]


def _panel_grid(count: int, ncols: int | None, size: float, extra_width: float, extra_height: float):
    """A figure with ``count`` panels in rows of ``ncols``; unused panels are switched off."""
    import matplotlib.pyplot as plt

    ncols = ncols or count
    nrows = -(-count // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols + extra_width, size * nrows + extra_height), squeeze=False
    )
    for ax in axes.flat[count:]:
        ax.axis("off")
    return fig, axes.flat[:count]


def show_images(
    images: Sequence[np.ndarray],
    titles: Sequence[str],
    *,
    suptitle: str = "",
    cmap: str | Sequence[str] = "gray",
    colorbar: bool = True,
    symmetric: bool | Sequence[bool] = False,
    ncols: int | None = None,
    size: float = 2.8,
):
    """A row (or grid) of images with titles and colour bars.

    ``cmap`` and ``symmetric`` are one value for all panels or one per panel; ``symmetric`` centres
    the colour scale on 0 (for signed responses such as edge maps).
    """
    images, titles = _check_panels("images", images, titles, (2, 3), suptitle, ncols, size)
    cmaps = _per_panel("cmap", cmap, len(images), check_cmap, str)
    symmetric_flags = _per_panel("symmetric", symmetric, len(images), check_bool, (bool, np.bool_))
    check_bool("colorbar", colorbar)
    fig, axes = _panel_grid(len(images), ncols, size, 0.6, 0.5)
    for ax, image, title, cmap, symmetric in zip(axes, images, titles, cmaps, symmetric_flags, strict=False):
        image = np.asarray(image)
        if symmetric:
            bound = float(np.abs(image).max()) or 1.0
            shown = ax.imshow(image, cmap=cmap, vmin=-bound, vmax=bound)
        else:
            shown = ax.imshow(image, cmap=cmap)
        ax.set_title(title)
        ax.set_xlabel(f"{image.shape[1]} px")
        ax.set_ylabel(f"{image.shape[0]} px")
        ax.set_xticks([])
        ax.set_yticks([])
        if colorbar:
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_signal_taps(signal: Sequence[float], kernel_size: int, dilations: Sequence[int], position: int = 0):
    """One row per dilation: the samples a kernel reads for output ``position`` (valid padding)."""
    import matplotlib.pyplot as plt

    x = check_array("signal", signal, ndim=1).astype(float)
    kernel_size = check_int("kernel_size", kernel_size)
    dilations = check_dilations(dilations)
    position = check_int("position", position, 0)
    for index, d in enumerate(dilations):
        if position + d * (kernel_size - 1) >= len(x):
            raise ValueError(
                f"position={position} with kernel_size={kernel_size} at dilations[{index}]={d} reads past the "
                f"signal of length {len(x)}"
            )
    fig, axes = plt.subplots(len(dilations), 1, figsize=(7, 1.5 * len(dilations) + 0.4), sharex=True, squeeze=False)
    for ax, d in zip(axes[:, 0], dilations, strict=True):
        taps = position + d * np.arange(kernel_size)
        ax.stem(np.arange(len(x)), x, linefmt="0.75", markerfmt="o", basefmt="0.8")
        ax.plot(taps, x[taps], "o", ms=11, mfc="none", mec="crimson", mew=2, label="read by the kernel")
        ax.axvspan(taps[0] - 0.4, taps[-1] + 0.4, color="crimson", alpha=0.08)
        ax.set_ylabel("x[t]")
        ax.set_title(f"d = {d}: taps at t = {', '.join(map(str, taps))} (span {taps[-1] - taps[0] + 1})")
        ax.legend(loc="upper left", fontsize="small")
    axes[-1, 0].set_xlabel("t (sample index)")
    axes[-1, 0].set_xticks(np.arange(len(x)))
    fig.tight_layout()
    return fig


def plot_maps(
    maps: Sequence[np.ndarray],
    titles: Sequence[str],
    *,
    suptitle: str = "",
    cmap: str = "Blues",
    ncols: int | None = None,
    size: float = 2.6,
    annotate: bool = False,
    colorbar_label: str = "paths",
):
    """Gradient or path-count maps side by side, each with its own colour bar (white = 0).

    Axes show offsets from the centre pixel (row and column ``size // 2`` are offset 0), so maps of
    different sizes read on the same coordinates; ``colorbar_label`` names what the colours count.
    """
    from matplotlib.ticker import MaxNLocator

    maps, titles = _check_panels("maps", maps, titles, (2,), suptitle, ncols, size)
    check_cmap("cmap", cmap)
    check_bool("annotate", annotate)
    check_str("colorbar_label", colorbar_label)
    fig, axes = _panel_grid(len(maps), ncols, size, 0.8, 0.6)
    for ax, grid, title in zip(axes, maps, titles, strict=False):
        grid = np.asarray(grid, dtype=float)
        rows, cols = grid.shape
        top, left = rows // 2, cols // 2
        extent = (-left - 0.5, cols - left - 0.5, rows - top - 0.5, -top - 0.5)
        shown = ax.imshow(grid, cmap=cmap, vmin=0, extent=extent)
        ax.set_title(title)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(MaxNLocator(nbins=4, integer=True, symmetric=True))
        ax.tick_params(labelsize="x-small")
        ax.set_xlabel("column offset", fontsize="small")
        ax.set_ylabel("row offset", fontsize="small")
        if annotate and rows <= 15:
            for (i, j), value in np.ndenumerate(grid):
                if value:
                    ax.text(j - left, i - top, f"{value:g}", ha="center", va="center", fontsize=6)
        colorbar = fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        colorbar.set_label(colorbar_label, fontsize="small")
        colorbar.ax.tick_params(labelsize="x-small")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_aspp_branches(rates: Sequence[int] = (6, 12, 18), size: int = 65, background: np.ndarray | None = None):
    """What each ASPP branch of one output pixel reads on a size x size feature map.

    The 1x1 branch reads the centre pixel; the 3x3 branch at rate r reads 9 pixels spread over a
    (2r + 1)-wide square (dots: the taps, frame: the span); image pooling reads the whole map.
    Taps outside the map read zero padding and are drawn hollow.
    """
    import matplotlib.pyplot as plt

    size = check_int("size", size)
    rates = list(check_dilations(rates, "rates"))
    check_optional(check_array, "background", background, ndim=(2, 3))
    fig, ax = plt.subplots(figsize=(5.4, 5.0))
    if background is not None:
        ax.imshow(background, cmap="gray", alpha=0.45, extent=(-0.5, size - 0.5, size - 0.5, -0.5))
    centre = size // 2
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    ax.add_patch(plt.Rectangle((-0.5, -0.5), size, size, fill=False, ec="k", lw=2.5, ls="--"))
    ax.plot([], [], "k--", label=f"image pooling: all {size}x{size}")
    ax.plot(centre, centre, "s", color="k", ms=6, label="1x1 branch: the centre")
    for colour, r in zip(colours, rates, strict=False):
        offsets = np.array([-r, 0, r])
        taps = [(centre + di, centre + dj) for di in offsets for dj in offsets]
        inside = [(i, j) for i, j in taps if 0 <= i < size and 0 <= j < size]
        outside = [(i, j) for i, j in taps if (i, j) not in inside]
        ax.add_patch(
            plt.Rectangle((centre - r - 0.5, centre - r - 0.5), 2 * r + 1, 2 * r + 1, fill=False, ec=colour, lw=1.5)
        )
        ax.plot([j for _, j in inside], [i for i, _ in inside], "o", color=colour, ms=7,
                label=f"rate {r}: 9 taps over {2 * r + 1}x{2 * r + 1}")  # fmt: skip
        if outside:
            ax.plot([j for _, j in outside], [i for i, _ in outside], "o", mfc="none", color=colour, ms=7)
    pad = max(rates) - centre + 2 if max(rates) > centre else 1
    ax.set_xlim(-0.5 - pad, size - 0.5 + pad)
    ax.set_ylim(size - 0.5 + pad, -0.5 - pad)
    ax.set_title(f"What one output pixel of ASPP reads ({size}x{size} feature map)")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    fig.tight_layout()
    return fig
