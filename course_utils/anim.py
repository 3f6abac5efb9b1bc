"""The course's GIFs, drawn from code with Pillow: deterministic (same bytes every run) and atomic.

- conv_arithmetic-style animations (after Dumoulin & Visin's vdumoulin/conv_arithmetic): a kernel
  slides over a small input, one frame per output pixel, the taps it reads and the output cell it
  writes highlighted. ``SLIDES`` is the table of configurations (dilation x stride x padding).
- the Fibonacci animation of Jonas1312's notebook "Dilation Rate Gridding Problem and How to Solve
  It With the Fibonacci Sequence" (GitHub), redrawn from the analytic gradient map as layers are added;
- a gridding comparison: a repeated rate against Fibonacci rates, layer by layer.

Cells are drawn at known pixel positions (``Geometry``) so the tests can check, pixel by pixel,
that every frame highlights the right cells. ``make anim`` runs ``python -m course_utils.anim anim``.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._checks import check_array, check_cmap, check_dilations, check_int, check_sequence, check_str
from .conv import conv_output_size, effective_kernel_size
from .receptive_field import describe, gradient_map

__all__ = [
    "SLIDES",
    "Geometry",
    "SlideConfig",
    "fibonacci_growth_frames",
    "gridding_comparison_frames",
    "heatmap_image",
    "slide_frames",
    "write_all",
    "write_gif",
]

WHITE = (255, 255, 255)
MAX_FRAMES_BYTES = 256 * 2**20  # RGB pixels of one call's frames, counted before drawing
GRID = (150, 150, 150)
TEXT = (20, 20, 20)
INPUT = (198, 219, 239)
PADDING = (235, 235, 235)
TAP = (33, 113, 181)
SPAN = (215, 48, 39)
OUTPUT_DONE = (199, 233, 192)
OUTPUT_NOW = (35, 139, 69)


def _font(size: int = 13):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class SlideConfig:
    """One sliding-kernel animation: a square input, kernel, dilation, stride and zero padding."""

    name: str
    input_size: int = 7
    kernel_size: int = 3
    dilation: int = 1
    stride: int = 1
    padding: int = 0

    def __post_init__(self) -> None:
        check_str("name", self.name, allow_empty=False)
        for field in ("input_size", "kernel_size", "dilation", "stride"):
            check_int(field, getattr(self, field), 1, 64)
        check_int("padding", self.padding, 0, 64)
        self.output_size  # noqa: B018 -- raises ValueError naming kernel_size when the kernel does not fit

    @property
    def output_size(self) -> int:
        return conv_output_size(self.input_size, self.kernel_size, self.stride, self.padding, self.dilation)

    def title(self) -> str:
        return (
            f"{self.kernel_size}x{self.kernel_size} kernel, dilation {self.dilation}, "
            f"stride {self.stride}, padding {self.padding}"
        )


# The configurations `make anim` renders (one GIF each), like conv_arithmetic's table.
SLIDES: tuple[SlideConfig, ...] = (
    SlideConfig("dilation_1", dilation=1),
    SlideConfig("dilation_2", dilation=2),
    SlideConfig("dilation_2_padding_2", dilation=2, padding=2),
    SlideConfig("dilation_2_stride_2_padding_1", dilation=2, stride=2, padding=1),
)


@dataclass(frozen=True)
class Geometry:
    """Where the cells of the two grids of a slide frame are, in pixels."""

    cell: int
    input_origin: tuple[int, int]
    output_origin: tuple[int, int]
    width: int
    height: int

    def input_cell_centre(self, row: int, col: int) -> tuple[int, int]:
        """Pixel (x, y) at the centre of padded-input cell (row, col)."""
        x0, y0 = self.input_origin
        return (x0 + col * self.cell + self.cell // 2, y0 + row * self.cell + self.cell // 2)

    def output_cell_centre(self, row: int, col: int) -> tuple[int, int]:
        x0, y0 = self.output_origin
        return (x0 + col * self.cell + self.cell // 2, y0 + row * self.cell + self.cell // 2)


@dataclass(frozen=True)
class SlideFrame:
    image: object  # PIL.Image.Image
    taps: tuple[tuple[int, int], ...]  # padded-input cells read for this output
    output: tuple[int, int]


def _geometry(config: SlideConfig, cell: int = 24) -> Geometry:
    padded = config.input_size + 2 * config.padding
    top, left, gap = 40, 14, 3 * cell
    width = left + padded * cell + gap + config.output_size * cell + left
    height = top + padded * cell + 30
    out_top = top + (padded - config.output_size) * cell // 2
    return Geometry(cell, (left, top), (left + padded * cell + gap, out_top), width, height)


def _draw_cell(draw, x: int, y: int, cell: int, fill) -> None:
    draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=fill, outline=GRID)


def slide_frames(config: SlideConfig, cell: int = 24) -> tuple[list[SlideFrame], Geometry]:
    """One frame per output pixel: taps and output cell highlighted, the kernel's span outlined in red."""
    from PIL import Image, ImageDraw

    if not isinstance(config, SlideConfig):
        raise TypeError(f"config must be a SlideConfig, got {config!r}")
    cell = check_int("cell", cell, 4, 200)
    geometry = _geometry(config, cell)
    padded = config.input_size + 2 * config.padding
    frames_bytes = config.output_size**2 * geometry.width * geometry.height * 3  # counted before drawing
    if frames_bytes > MAX_FRAMES_BYTES:
        raise ValueError(
            f"config (input_size={config.input_size}) with cell={cell} gives {config.output_size**2} frames of "
            f"{geometry.width} x {geometry.height} pixels, about {frames_bytes / 2**20:,.0f} MB; slide_frames "
            f"stops at {MAX_FRAMES_BYTES // 2**20} MB: use a smaller input_size or cell"
        )
    span = effective_kernel_size(config.kernel_size, config.dilation)
    n_out = config.output_size
    font = _font()
    frames = []
    for index, (i, j) in enumerate(np.ndindex(n_out, n_out)):
        image = Image.new("RGB", (geometry.width, geometry.height), WHITE)
        draw = ImageDraw.Draw(image)
        draw.fontmode = "1"  # 1-bit text: no anti-aliasing greys to crowd the GIF palette
        draw.text((geometry.input_origin[0], 8), config.title(), fill=TEXT, font=font)
        top, left = i * config.stride, j * config.stride
        taps = tuple(
            (top + p * config.dilation, left + q * config.dilation)
            for p in range(config.kernel_size)
            for q in range(config.kernel_size)
        )
        for r, c in np.ndindex(padded, padded):
            inside = config.padding <= r < padded - config.padding and config.padding <= c < padded - config.padding
            fill = TAP if (r, c) in taps else (INPUT if inside else PADDING)
            x0, y0 = geometry.input_origin[0] + c * cell, geometry.input_origin[1] + r * cell
            _draw_cell(draw, x0, y0, cell, fill)
        x0, y0 = geometry.input_origin[0] + left * cell, geometry.input_origin[1] + top * cell
        draw.rectangle((x0 - 1, y0 - 1, x0 + span * cell, y0 + span * cell), outline=SPAN, width=2)
        for r, c in np.ndindex(n_out, n_out):
            done = r * n_out + c < index
            fill = OUTPUT_NOW if (r, c) == (i, j) else (OUTPUT_DONE if done else WHITE)
            _draw_cell(draw, geometry.output_origin[0] + c * cell, geometry.output_origin[1] + r * cell, cell, fill)
        n_in = config.input_size
        caption = f"input {n_in}x{n_in} (grey: padding)   output ({i}, {j}) of {n_out}x{n_out}"
        draw.text((geometry.input_origin[0], geometry.height - 22), caption, fill=TEXT, font=font)
        frames.append(SlideFrame(image, taps, (i, j)))
    return frames, geometry


def heatmap_image(grid: np.ndarray, title: str, caption: str = "", cell: int = 10, cmap: str = "Blues"):
    """A path-count or gradient map as a PIL image: white = 0, darker = more paths (own scale)."""
    from matplotlib import colormaps
    from PIL import Image, ImageDraw

    grid = check_array("grid", grid, finite=True).astype(np.float64)
    if grid.ndim != 2:
        raise ValueError(f"grid must be 2D, got shape {grid.shape}")
    check_str("title", title)
    check_str("caption", caption)
    cell = check_int("cell", cell, 1, 200)
    check_cmap("cmap", cmap)
    _check_frames_bytes(1, grid.shape[1] * cell, grid.shape[0] * cell, f"grid of shape {grid.shape} with cell={cell}")
    scale = grid.max() if grid.max() > 0 else 1.0
    # 64 discrete levels: plenty for the eye, and few enough colours for an exact GIF palette
    colours = (colormaps[cmap].resampled(64)(grid / scale)[..., :3] * 255).round().astype(np.uint8)
    colours[grid == 0] = WHITE
    cells = np.repeat(np.repeat(colours, cell, axis=0), cell, axis=1)
    lines = caption.split("\n") if caption else []
    margin_top, margin_bottom = 26, 6 + 17 * len(lines)
    canvas = Image.new("RGB", (cells.shape[1] + 12, cells.shape[0] + margin_top + margin_bottom), WHITE)
    canvas.paste(Image.fromarray(cells), (6, margin_top))
    draw = ImageDraw.Draw(canvas)
    draw.fontmode = "1"  # 1-bit text: no anti-aliasing greys to crowd the GIF palette
    draw.rectangle((5, margin_top - 1, 6 + cells.shape[1], margin_top + cells.shape[0]), outline=GRID)
    font = _font(12)
    draw.text((6, 6), title, fill=TEXT, font=font)
    for index, line in enumerate(lines):
        draw.text((6, margin_top + cells.shape[0] + 4 + 17 * index), line, fill=TEXT, font=font)
    return canvas


def _side_by_side(images: Sequence[object]):
    from PIL import Image

    width = sum(im.width for im in images)
    height = max(im.height for im in images)
    canvas = Image.new("RGB", (width, height), WHITE)
    x = 0
    for im in images:
        canvas.paste(im, (x, 0))
        x += im.width
    return canvas


def _caption(rates: Sequence[int]) -> str:
    report = describe(rates)
    side = f"RF {report.size}x{report.size}, {report.holes_2d} holes"
    return f"{side}\ncentre/max paths {report.centre_weight}/{report.max_weight}"


def fibonacci_growth_frames(n_layers: int = 6, size: int = 21, cell: int = 10) -> list[object]:
    """Jonas1312's Fibonacci animation: rates added one layer at a time, analytic maps (size x size).

    At most 29 layers: the 30th Fibonacci rate takes the receptive field past ``MAX_FIELD``."""
    from .sequences import fibonacci

    rates = fibonacci(check_int("n_layers", n_layers, 1, 29))
    size, cell = check_int("size", size), check_int("cell", cell, 1, 200)
    _check_frames_bytes(len(rates), size * cell, size * cell, f"size={size} with cell={cell}")
    return [
        heatmap_image(
            gradient_map(rates[:n], size).astype(np.float64), f"Fibonacci rates {rates[:n]}", _caption(rates[:n]), cell
        )
        for n in range(1, len(rates) + 1)
    ]


def _check_frames_bytes(frames: int, width: int, height: int, what: str) -> None:
    """Refuse, before drawing, pictures whose pixels would pass MAX_FRAMES_BYTES (``what``: the arguments)."""
    total = frames * width * height * 3
    if total > MAX_FRAMES_BYTES:
        raise ValueError(
            f"{what} gives {frames} picture(s) of {width} x {height} pixels, about {total / 2**20:,.0f} MB; "
            f"they stop at {MAX_FRAMES_BYTES // 2**20} MB: use smaller values"
        )


def gridding_comparison_frames(
    repeated: Sequence[int] = (2, 2, 2, 2, 2), fixed: Sequence[int] = (1, 1, 2, 3, 5), size: int = 25, cell: int = 9
) -> list[object]:
    """Layer by layer, side by side: a gridding schedule and a hole-free one of equal depth."""
    repeated, fixed = check_dilations(repeated, "repeated"), check_dilations(fixed, "fixed")
    if len(repeated) != len(fixed):
        raise ValueError(f"repeated and fixed must have equal depth, got {len(repeated)} and {len(fixed)} layers")
    size, cell = check_int("size", size), check_int("cell", cell, 1, 200)
    _check_frames_bytes(2 * len(fixed), size * cell, size * cell, f"size={size} with cell={cell}")
    frames = []
    for n in range(1, len(fixed) + 1):
        panels = [
            heatmap_image(
                gradient_map(rates[:n], size).astype(np.float64), f"rates {list(rates[:n])}", _caption(rates[:n]), cell
            )
            for rates in (repeated, fixed)
        ]
        frames.append(_side_by_side(panels))
    return frames


def write_gif(path: str | os.PathLike, frames: Sequence[object], duration_ms: int = 700) -> Path:
    """Write frames as a looping GIF, atomically: a temporary file beside ``path``, then a rename."""
    from PIL import Image

    if not isinstance(path, str | os.PathLike) or not str(path):
        raise TypeError(f"path must be a file name (str or Path), got {path!r}")
    frames = check_sequence("frames", frames)
    for index, frame in enumerate(frames):
        if not isinstance(frame, Image.Image):
            raise TypeError(f"frames[{index}] must be a PIL image, got {frame!r}")
    duration_ms = check_int("duration_ms", duration_ms, 10)
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"path must be in an existing directory, got {str(path)!r}")
    # One palette for every frame, made of the frames' exact colours: colours stay stable from frame
    # to frame, white stays white, and the bytes are the same on every run.
    weights = np.array([65536, 256, 1], dtype=np.int64)  # an RGB colour packed into one integer
    packed = [np.asarray(frame.convert("RGB")).astype(np.int64) @ weights for frame in frames]
    codes = np.unique(np.concatenate([p.ravel() for p in packed]))
    if len(codes) > 256:
        raise ValueError(f"frames use {len(codes)} distinct colours; a GIF palette holds 256")
    colours = np.stack([codes // 65536, codes // 256 % 256, codes % 256], axis=1)
    palette = colours.astype(np.uint8).ravel().tolist() + [0] * (3 * (256 - len(codes)))
    paletted = []
    for frame_codes in packed:
        image = Image.fromarray(np.searchsorted(codes, frame_codes).astype(np.uint8), mode="P")
        image.putpalette(palette)
        paletted.append(image)
    buffer = io.BytesIO()
    paletted[0].save(
        buffer, format="GIF", save_all=True, append_images=paletted[1:], duration=duration_ms, loop=0, optimize=False
    )
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(buffer.getvalue())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_all(directory: str | os.PathLike = "anim") -> list[Path]:
    """Render every GIF of the course into ``directory`` (what ``make anim`` runs)."""
    if not isinstance(directory, str | os.PathLike) or not str(directory):
        raise TypeError(f"directory must be a directory name (str or Path), got {directory!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = [
        write_gif(directory / f"{config.name}.gif", [frame.image for frame in slide_frames(config)[0]])
        for config in SLIDES
    ]
    written.append(write_gif(directory / "fibonacci_growth.gif", fibonacci_growth_frames(), duration_ms=1000))
    written.append(write_gif(directory / "gridding_vs_fibonacci.gif", gridding_comparison_frames(), duration_ms=1200))
    return written


if __name__ == "__main__":
    for written_path in write_all(sys.argv[1] if len(sys.argv) > 1 else "anim"):
        print(f"anim: wrote {written_path} ({written_path.stat().st_size // 1024} KiB)")
