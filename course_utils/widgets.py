"""Interactive receptive-field explorer (ipywidgets).

Type dilation rates, pick a kernel size, an image size and the weights; the map of the centre
output's gradient and the numbers behind it (receptive field, holes, centre/max, and the whole
HDC criterion of Wang et al. 2018 rule by rule, with the rule that failed) update at once.
With all-ones weights the map is computed analytically (``gradient_map``), which takes a few
milliseconds even at 129x129 with 8 layers (``benchmarks/widget_update.py``); random
weights run the PyTorch probe. Bad entries show a message in the widget that says why the entry
was refused, never a traceback, and clear the map and numbers (they belonged to the last good
entry). Kernel and image size are typed, not clamped: 4 or 200 get a message, not another value.
"""

from __future__ import annotations

import base64
import html
import io
import re
from typing import Any

import ipywidgets as widgets
import numpy as np

from ._checks import check_choice, check_int, check_odd_kernel, check_str
from .anim import heatmap_image
from .receptive_field import describe, gradient_map

__all__ = ["MAX_LAYERS", "MAX_RATE", "ReceptiveFieldExplorer", "parse_rates", "receptive_field_explorer"]

MAX_LAYERS = 16
MAX_RATE = 512
KERNELS = (1, 3, 5, 7, 9)
MIN_SIZE, MAX_SIZE = 5, 129
HINT = (
    "<i>The controls respond while this notebook's kernel runs the cell: if the map does not change "
    "when you edit them, run the cell (Shift+Enter).</i>"
)


def _check_kernel(value: int) -> int:
    if value not in KERNELS:
        why = "even: a kernel must have a centre pixel" if value % 2 == 0 else "outside the explorer's range"
        raise ValueError(f"kernel {value} is refused ({why}); use 1, 3, 5, 7 or 9")
    return value


def _check_size(value: int) -> int:
    if not MIN_SIZE <= value <= MAX_SIZE:
        raise ValueError(
            f"image size {value} is refused: the explorer draws images of {MIN_SIZE} to {MAX_SIZE} pixels a side"
        )
    if value % 2 == 0:
        raise ValueError(f"image size {value} is refused: it must be odd, so that one pixel is the centre")
    return value


def parse_rates(text: str) -> tuple[int, ...]:
    """Read "1, 2, 4" (commas or spaces) into rates; raise ValueError with a message for the learner."""
    check_str("text", text)
    items = [item for item in text.replace(",", " ").split() if item]
    if not items:
        raise ValueError("enter at least one dilation rate, e.g. 1, 2, 4")
    rates = []
    for item in items:
        try:
            value = int(item)
        except ValueError:
            raise ValueError(f"{item!r} is not a whole number; dilation rates are integers such as 1, 2, 4") from None
        if value < 1:
            raise ValueError(f"dilation rates must be >= 1, got {value}")
        if value > MAX_RATE:
            raise ValueError(f"dilation rates above {MAX_RATE} do not fit the explorer, got {value}")
        rates.append(value)
    if len(rates) > MAX_LAYERS:
        raise ValueError(f"at most {MAX_LAYERS} layers, got {len(rates)}")
    return tuple(rates)


def _check_explorer_arguments(rates: Any, kernel_size: Any, size: Any, weights: Any) -> None:
    """The explorer's starting values must be ones its controls can show (no silent clamping)."""
    try:
        parse_rates(rates)
    except (TypeError, ValueError) as error:
        raise type(error)(f"rates={rates!r} is not a list of dilation rates: {error}") from None
    if check_odd_kernel(kernel_size) > 9:
        raise ValueError(f"kernel_size must be <= 9 (the explorer's range), got {kernel_size!r}")
    if check_int("size", size, 5, 129) % 2 == 0:
        raise ValueError(f"size must be odd (one pixel is the centre), got {size!r}")
    check_choice("weights", weights, ("ones", "random"))


class ReceptiveFieldExplorer(widgets.VBox):
    """The explorer's widgets and its last result (``grid``, ``numbers``), for notebooks and tests."""

    def __init__(self, rates: str = "1, 2, 4", kernel_size: int = 3, size: int = 21, weights: str = "ones"):
        _check_explorer_arguments(rates, kernel_size, size, weights)
        self.rates = widgets.Text(value=rates, description="dilations", continuous_update=True)
        # Typed boxes, not sliders: a slider clamps 200 to 129 and skips 4 without a word.
        self.kernel_size = widgets.IntText(value=kernel_size, description="kernel", continuous_update=False)
        self.size = widgets.IntText(value=size, description="image size", continuous_update=False)
        self.weights = widgets.ToggleButtons(options=["ones", "random"], value=weights, description="weights")
        ranges = widgets.HTML(
            f"kernel: odd, 1 to 9; image size: odd, {MIN_SIZE} to {MAX_SIZE}; "
            f"up to {MAX_LAYERS} rates of at most {MAX_RATE}"
        )
        self.image = widgets.Image(format="png")
        self.summary = widgets.HTML()
        self.message = widgets.HTML()
        self.hint = widgets.HTML(HINT)
        self.grid: np.ndarray | None = None
        self.numbers: dict[str, Any] = {}
        controls = widgets.VBox(
            [self.hint, self.rates, self.kernel_size, self.size, ranges, self.weights, self.message]
        )
        super().__init__([controls, widgets.HBox([self.image, self.summary])])
        for control in (self.rates, self.kernel_size, self.size, self.weights):
            control.observe(self._on_change, names="value")
        self.update()

    def _on_change(self, _change: dict) -> None:
        self.update()

    def update(self) -> None:
        """Recompute the map and the numbers from the controls; show a message on bad input."""
        try:
            k, size = _check_kernel(self.kernel_size.value), _check_size(self.size.value)
            rates = parse_rates(self.rates.value)
            if self.weights.value == "ones":
                grid = gradient_map(rates, size, k)
            else:
                from .probe import gradient_probe

                grid = np.abs(gradient_probe(rates, size, k, "random", seed=0))
            report = describe(rates, k)
        except (ValueError, MemoryError) as error:  # shown to the learner, never a traceback
            if isinstance(error, MemoryError):
                error = ValueError("these settings need more memory than this machine has; try fewer or smaller rates")
            # The old map and numbers belonged to other settings: clear them rather than leave them as if valid.
            self.grid, self.numbers = None, {}
            self.image.value = b""
            self.summary.value = ""
            self.message.value = f"<span style='color:#b00020'>{html.escape(str(error))}</span>"
            return
        visible_holes = int(np.count_nonzero(self._window(grid, report.size) == 0))
        self.grid = grid
        self.numbers = {
            "rates": rates,
            "receptive_field": report.size,
            "holes": report.holes_2d,
            "holes_in_image": visible_holes,
            "coverage": report.coverage,
            "centre_weight": report.centre_weight,
            "max_weight": report.max_weight,
            "hdc_m2": report.hdc_m2,
            "hdc_common_factor": report.hdc.common_factor,
            "hdc_ok": report.hdc_ok,
            "hdc_reason": report.hdc.reason,
        }
        cell = max(2, 300 // size)
        picture = heatmap_image(grid.astype(np.float64), f"d(centre)/d(input), rates {list(rates)}", cell=cell)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG", compress_level=1)
        self.image.value = buffer.getvalue()
        self.summary.value = self._summary_html(report.size > size, report.hdc)
        self.message.value = ""

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The live widget, plus its last map (PNG) and numbers (text) for readers without a kernel."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None and self.grid is not None:
            bundle["text/plain"] = self.summary_text() + "\n(a still picture: run the cell to explore)"
            bundle["image/png"] = base64.b64encode(bytes(self.image.value)).decode("ascii")
        return bundle

    def summary_text(self) -> str:
        """The explorer's settings and its summary table as plain text, one row a line."""
        text = re.sub(r"</t[dh]>\s*<t[dh][^>]*>", ": ", self.summary.value)
        text = re.sub(r"</tr>|</p>|<br\s*/?>", "\n", text)
        text = html.unescape(re.sub(r"</?[a-zA-Z][^>]*>", "", text))
        rates = ", ".join(str(rate) for rate in self.numbers.get("rates", ()))
        settings = (
            f"Receptive-field explorer: dilation rates {rates}; kernel {self.kernel_size.value}; "
            f"image {self.size.value} x {self.size.value}; {self.weights.value} weights"
        )
        return "\n".join([settings, *(line.strip() for line in text.splitlines() if line.strip())])

    @staticmethod
    def _window(grid: np.ndarray, rf_size: int) -> np.ndarray:
        centre, half = grid.shape[0] // 2, rf_size // 2
        low, high = max(0, centre - half), min(grid.shape[0], centre + half + 1)
        return grid[low:high, low:high]

    def _summary_html(self, truncated: bool, verdict) -> str:
        n = self.numbers
        met = {True: "met", False: "broken"}
        rows = [
            ("receptive field", f"{n['receptive_field']} x {n['receptive_field']}"),
            ("holes (unbounded input)", f"{n['holes']} ({n['coverage']:.0%} of the field reached)"),
            ("holes inside this image", str(n["holes_in_image"])),
            ("centre / max paths", f"{n['centre_weight']} / {n['max_weight']}"),
            (
                "HDC rule 1: M2 <= K",
                f"M2 = {verdict.m2} {'<=' if verdict.m2_ok else '>'} K = {verdict.kernel_size}: {met[verdict.m2_ok]}",
            ),
            ("HDC rule 2: no common factor", f"gcd {verdict.common_factor}: {met[verdict.common_factor == 1]}"),
            ("HDC verdict", verdict.reason),
        ]
        body = "".join(f"<tr><td>{name}</td><td><b>{html.escape(value)}</b></td></tr>" for name, value in rows)
        note = (
            f"<p><i>The receptive field ({n['receptive_field']} x {n['receptive_field']}) is larger than the image: "
            f"the map is cut at the edges. Set the image size to at least {n['receptive_field']} to see it whole"
            f"{'' if n['receptive_field'] <= MAX_SIZE else f' (the explorer stops at {MAX_SIZE})'}.</i></p>"
        )
        return f"<table>{body}</table>" + (note if truncated else "")


def receptive_field_explorer(
    rates: str = "1, 2, 4", kernel_size: int = 3, size: int = 21, weights: str = "ones"
) -> ReceptiveFieldExplorer:
    """Show the explorer in a notebook: ``receptive_field_explorer()`` as the last line of a cell."""
    _check_explorer_arguments(rates, kernel_size, size, weights)
    return ReceptiveFieldExplorer(rates, kernel_size, size, weights)
