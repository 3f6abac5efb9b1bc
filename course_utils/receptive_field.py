"""Receptive fields of convolution stacks, computed exactly and without a framework (NumPy only).

Three views of "which inputs reach one output":

- ``receptive_field(layers)``: the closed forms of Araujo et al. (2019, Distill) for the size and
  effective stride of a stack, with each layer's kernel replaced by its dilated span
  ``k_eff = d (k - 1) + 1``.
- ``path_counts(dilations)``: for a stack of all-ones kernels on an unbounded input, the number of
  paths from each input offset to the centre output. Zero marks a *hole*: an offset inside the
  receptive field that no path reaches (the gridding problem).
- ``gradient_map(dilations, size)``: the same on a finite ``size x size`` image with zero 'same'
  padding, which is exactly what the PyTorch gradient probe of Jonas1312's notebook "Dilation
  Rate Gridding Problem and How to Solve It With the Fibonacci Sequence" (gradient of the centre
  output pixel w.r.t. the input) returns, truncation at the image edge included.

``hdc(dilations)`` gives the verdict of the Hybrid Dilated Convolution criterion of Wang et al.
(2018) with its parts, so that it can be compared with the exact hole count of ``holes``.

Counts are exact: 64-bit while they fit, Python integers beyond (3-tap counts pass 64 bits at 40
layers, their 2D products at 20), never a wrapped-around value. A stack whose field or work is
past the limits below is refused up front with a ValueError that names the limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import gcd
from typing import Any, NamedTuple

import numpy as np

from ._checks import check_array, check_dilations, check_int, check_named_mapping, check_sequence

__all__ = [
    "GriddingReport",
    "HDCVerdict",
    "LayerRF",
    "ReceptiveField",
    "describe",
    "gradient_map",
    "impulse_extent",
    "has_gridding",
    "hdc",
    "hdc_max_distance",
    "holes",
    "path_counts",
    "receptive_field",
    "report_table",
    "spread",
    "valid_tap_fraction",
]


@dataclass(frozen=True)
class LayerRF:
    """One row of the per-layer table: the layer, and the stack's receptive field after it."""

    index: int
    kernel_size: int
    stride: int
    dilation: int
    effective_kernel_size: int
    size: int  # receptive-field size of the stack up to and including this layer
    stride_product: int  # effective stride (jump) of the stack up to and including this layer


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive-field size and effective stride of a stack, with the per-layer table."""

    size: int
    stride: int
    layers: tuple[LayerRF, ...]

    def table(self) -> str:
        rows = [f"{'layer':>5} {'k':>3} {'s':>3} {'d':>5} {'k_eff':>6} {'RF':>7} {'jump':>6}"]
        for layer in self.layers:
            rows.append(
                f"{layer.index:>5} {layer.kernel_size:>3} {layer.stride:>3} {layer.dilation:>5} "
                f"{layer.effective_kernel_size:>6} {layer.size:>7} {layer.stride_product:>6}"
            )
        return "\n".join(rows)


def _parse_layer(index: int, spec: Any) -> tuple[int, int, int]:
    where = f"layers[{index}]"
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"kernel_size", "stride", "dilation"}
        if unknown or "kernel_size" not in spec:
            raise ValueError(
                f"{where} must have 'kernel_size' and optionally 'stride', 'dilation'; got keys {sorted(spec)}"
            )
        values = (spec["kernel_size"], spec.get("stride", 1), spec.get("dilation", 1))
    elif isinstance(spec, Sequence) and not isinstance(spec, str):
        if not 1 <= len(spec) <= 3:
            raise ValueError(f"{where} must be (kernel_size[, stride[, dilation]]), got {spec!r}")
        values = (*spec, 1, 1)[:3]
    else:
        raise TypeError(f"{where} must be a (kernel_size, stride, dilation) tuple or a dict, got {spec!r}")
    names = ("kernel_size", "stride", "dilation")
    k, s, d = (check_int(f"{where}.{name}", v) for name, v in zip(names, values, strict=True))
    return k, s, d


def receptive_field(layers: Iterable[Any]) -> ReceptiveField:
    """Receptive-field size and effective stride of a stack of convolution (or pooling) layers.

    Each layer is ``(kernel_size, stride, dilation)`` (trailing entries default to 1) or a dict
    with those keys. With ``k_eff = d (k - 1) + 1`` and ``S_l = s_1 ... s_l``:

        size = 1 + sum_l (k_eff_l - 1) * S_{l-1},      stride = S_L

    (Araujo, Norris & Sim 2019, eqs. for r_0 and S_0; padding does not change the size.)
    """
    parsed = [_parse_layer(i, spec) for i, spec in enumerate(check_sequence("layers", layers))]
    size, jump, rows = 1, 1, []
    for index, (k, s, d) in enumerate(parsed):
        k_eff = d * (k - 1) + 1
        size += (k_eff - 1) * jump
        jump *= s
        rows.append(LayerRF(index + 1, k, s, d, k_eff, size, jump))
    return ReceptiveField(size=size, stride=jump, layers=tuple(rows))


def impulse_extent(layers: Iterable[Any], length: int | None = None) -> int:
    """Brute-force receptive field: how far apart the first and last inputs that reach output 0 are.

    Runs inputs through the real stack (``conv.conv1d`` with all-ones kernels, no padding) and
    watches output 0; no formula is involved, so it checks ``receptive_field`` independently.
    Every weight is positive, so output 0 of a step input that is one from position ``p`` on is
    non-zero exactly when some input at or after ``p`` reaches it: a bisection over ``p`` finds
    the last reached input (and one over steps that end at ``p``, the first) in about
    ``2 log2(length)`` runs instead of one run per position. ``length`` is at most ``MAX_FIELD``.
    """
    from .conv import conv1d

    parsed = [_parse_layer(i, spec) for i, spec in enumerate(check_sequence("layers", layers))]
    jump, span = 1, 1
    for k, s, d in parsed:  # a length that surely holds the field (the closed form is not trusted)
        span += (d * (k - 1)) * jump
        jump *= s
    if length is not None and check_int("length", length) < span:
        raise ValueError(f"length must be at least the span of the stack ({span} samples), got {length!r}")
    length = length if length is not None else span + 2 * jump + 8
    if length > MAX_FIELD:
        raise ValueError(
            f"layers need an input of {length:,} samples to hold their field; impulse_extent stops at "
            f"{MAX_FIELD:,} (MAX_FIELD) to stay within memory and a few seconds"
        )
    steps = sum(k for k, _, _ in parsed) * length * 2 * max(1, length.bit_length())
    if steps > MAX_INT64_STEPS:
        raise ValueError(
            f"layers ask impulse_extent for about {steps:,} multiply-adds; the limit is {MAX_INT64_STEPS:,}"
        )

    def reaches_output_0(x: np.ndarray) -> bool:
        for k, s, d in parsed:
            x = conv1d(x, np.ones(k), stride=s, dilation=d)
        return bool(x[0] != 0)

    positions = np.arange(length)
    low, high = 0, length - 1  # the last reached input: the largest p with a step from p reaching
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if reaches_output_0((positions >= middle).astype(float)) else (low, middle - 1)
    last = low
    low, high = 0, last  # the first reached input: the smallest p with a step up to p reaching
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if reaches_output_0((positions <= middle).astype(float)) else (middle + 1, high)
    return last - low + 1


def _check_odd_kernel(kernel_size: Any) -> int:
    k = check_int("kernel_size", kernel_size)
    if k % 2 == 0:
        raise ValueError(
            f"kernel_size must be odd (a kernel centred on its output pixel, as 'same' padding "
            f"places it), got kernel_size={k}"
        )
    return k


# Limits: every function below answers within about a second and a few hundred MB, or refuses up
# front with a ValueError that says which limit and why (the cost is estimated before allocating).
MAX_FIELD = 2**22  # entries of a 1D path-count array (the receptive field's side R)
MAX_MAP_SIDE = 2049  # side of a gradient_map (its size x size entries are exact integers)
MAX_INT64_STEPS = 2 * 10**9  # array additions of 64-bit counts (about a nanosecond each)
MAX_EXACT_STEPS = 3 * 10**7  # additions of Python integers, for counts beyond 64 bits (about 50 ns each)
_INT64_MAX = 2**63 - 1


def _counts_dtype(kernel_size: int, layers: int, power: int = 1) -> type:
    """int64 when every count fits, else ``object`` (exact Python integers).

    A count is at most ``K**L`` (all paths together), a 2D count at most ``K**(2L)``: above
    ``2**63 - 1`` an int64 array would wrap around to wrong, even negative, values."""
    return np.int64 if kernel_size ** (layers * power) <= _INT64_MAX else object


def _field_width(rates: Sequence[int], k: int) -> int:
    return 1 + (k - 1) * sum(rates)


def _refuse_big_field(rates: Sequence[int], k: int, what: str) -> None:
    width = _field_width(rates, k)
    if width > MAX_FIELD:
        raise ValueError(
            f"dilations give a receptive field of {width:,} samples per side; {what} stops at "
            f"{MAX_FIELD:,} (MAX_FIELD) to stay within memory and a few seconds"
        )


def _refuse_slow(steps: int, dtype: type, what: str) -> None:
    limit = MAX_INT64_STEPS if dtype is np.int64 else MAX_EXACT_STEPS
    if steps > limit:
        kind = "64-bit" if dtype is np.int64 else "exact (beyond 64 bits)"
        raise ValueError(
            f"dilations and kernel_size ask {what} for about {steps:,} additions of {kind} counts; "
            f"the limit is {limit:,} (a few seconds): use fewer or smaller rates"
        )


def path_counts(dilations: Sequence[int], kernel_size: int = 3) -> np.ndarray:
    """Paths from each input offset ``-h..h`` to the centre output, for all-ones kernels, unbounded input.

    Returns an integer array of length ``R = 2h + 1`` (the receptive field) with half-width
    ``h = (K - 1)/2 * sum(d)``; entry ``h + u`` counts the ways to write ``u = sum_l (k_l - (K-1)/2) d_l``
    with tap indices ``k_l`` in ``0 .. K-1``.
    The 2D map of a square ``k x k`` kernel is the outer product of this array with itself.
    The counts are exact: int64 while ``K**L`` (all ``L`` layers' paths) fits in 64 bits, else an
    object array of Python integers (never a wrapped-around value). ``R`` above ``MAX_FIELD``, or
    more work than a few seconds, raise ValueError before anything is allocated.
    """
    rates = check_dilations(dilations)
    k = _check_odd_kernel(kernel_size)
    half = (k - 1) // 2
    _refuse_big_field(rates, k, "path_counts")
    dtype = _counts_dtype(k, len(rates))
    steps, width = 0, 1
    for d in rates:
        width += 2 * half * d
        steps += k * width
    _refuse_slow(steps, dtype, "path_counts")
    counts = np.ones(1, dtype=dtype)
    for d in rates:
        grown = np.zeros(len(counts) + 2 * half * d, dtype=dtype)
        for t in range(k):  # each tap shifts the current counts by t*d
            grown[t * d : t * d + len(counts)] += counts
        counts = grown
    return counts


def _truncated_counts_1d(rates: tuple[int, ...], k: int, size: int, centre: int) -> np.ndarray:
    """Back-propagate a unit gradient from ``centre`` through the layers, inside [0, size) only."""
    half = (k - 1) // 2
    dtype = _counts_dtype(k, len(rates))
    steps = sum(size for d in rates for t in range(k) if abs((t - half) * d) < size)
    _refuse_slow(steps, dtype, "gradient_map")
    grad = np.zeros(size, dtype=dtype)
    grad[centre] = 1
    for d in reversed(rates):
        # output i reads inputs i + (t - half) d, t = 0..k-1; inputs outside the image are padding
        new = np.zeros(size, dtype=dtype)
        for t in range(k):
            shift = (t - half) * d
            if abs(shift) >= size:
                continue
            if shift >= 0:
                new[shift:] += grad[: size - shift]
            else:
                new[:shift] += grad[-shift:]
        grad = new
    return grad


def gradient_map(dilations: Sequence[int], size: int, kernel_size: int = 3) -> np.ndarray:
    """The gradient probe of Jonas1312's gridding notebook, computed exactly without PyTorch.

    For a stack of ``kernel_size x kernel_size`` all-ones convolutions (no bias, zero 'same'
    padding) on a ``size x size`` input, returns d(centre output)/d(input), the centre being
    ``(size // 2, size // 2)``. Each entry is the number of paths from that input pixel to the
    centre that stay inside the image at every layer (activations outside it are padding, not
    computed, so paths through them do not count). Integer array of shape (size, size): int64
    while ``K**(2L)`` fits in 64 bits, else exact Python integers (an object array; take
    ``.astype(float)`` to plot it). ``size`` is at most ``MAX_MAP_SIDE``.
    """
    rates = check_dilations(dilations)
    k = _check_odd_kernel(kernel_size)
    size = check_int("size", size, 1, MAX_MAP_SIDE)
    line = _truncated_counts_1d(rates, k, size, size // 2)
    dtype = _counts_dtype(k, len(rates), 2)
    if dtype is object and size > 257:  # size**2 Python integers: keep it to a few hundred MB
        raise ValueError(
            f"size must be <= 257 when the counts pass 64 bits (K**(2L) = {k}**{2 * len(rates)}), got {size}: "
            "each of the size x size entries is then a Python integer"
        )
    return np.outer(line.astype(dtype), line.astype(dtype))


def holes(dilations: Sequence[int], kernel_size: int = 3) -> np.ndarray:
    """Offsets ``u`` in ``-h..h`` (1D, ``h`` the half-width) that no path reaches: the gaps inside the receptive field.

    In 2D with a square kernel, offset ``(u, v)`` is a hole exactly when ``u`` or ``v`` is a 1D hole.
    Only reachability is needed, not the counts: the reached offsets are kept as the bits of one
    integer, so this stays fast for deep stacks (``R`` up to ``MAX_FIELD``).
    """
    rates = check_dilations(dilations)
    k = _check_odd_kernel(kernel_size)
    reached = _reached_bits(rates, k, "holes")
    radius = (_field_width(rates, k) - 1) // 2
    bits = np.unpackbits(
        np.frombuffer(reached.to_bytes((2 * radius + 8) // 8, "little"), dtype=np.uint8), bitorder="little"
    )[: 2 * radius + 1]
    return np.flatnonzero(bits == 0) - radius


def _reached_bits(rates: tuple[int, ...], k: int, what: str) -> int:
    """Bit ``h + u`` set when offset ``u`` is reached by at least one path (``h`` the half-width).

    A set of offsets that is a whole interval ``[-w, w]`` stays whole after a layer of rate
    ``d <= 2w + 1`` (its shifted copies touch), so runs of such layers cost nothing."""
    _refuse_big_field(rates, k, what)
    half = (k - 1) // 2
    steps, width = 0, 1
    for d in rates:  # word operations on the bits, if no layer could take the shortcut
        width += (k - 1) * d
        steps += k * (width // 64 + 1)
    if steps > MAX_INT64_STEPS:
        raise ValueError(
            f"dilations and kernel_size ask {what} for about {steps:,} word operations; "
            f"the limit is {MAX_INT64_STEPS:,} (a few seconds): use fewer or smaller rates"
        )
    width, bits, whole = 1, 1, True  # bit i: offset i - (width - 1) / 2
    for d in rates:
        if whole and d <= width:
            width += 2 * half * d
            continue
        if whole:
            bits = (1 << width) - 1
        grown = 0
        for t in range(k):
            grown |= bits << (t * d)
        bits, width, whole = grown, width + 2 * half * d, False
    return (1 << width) - 1 if whole else bits


def has_gridding(dilations: Sequence[int], kernel_size: int = 3) -> bool:
    """True when the stack leaves holes inside its receptive field (on an unbounded input)."""
    rates = check_dilations(dilations)
    k = _check_odd_kernel(kernel_size)
    return _reached_bits(rates, k, "has_gridding") != (1 << _field_width(rates, k)) - 1


def hdc_max_distance(dilations: Sequence[int], kernel_size: int = 3) -> int:
    """M_2 of Wang et al. (2018, Hybrid Dilated Convolution): the first rule of ``hdc`` is ``M_2 <= K``.

    ``M_n = r_n`` and ``M_i = max(M_{i+1} - 2 r_i, M_{i+1} - 2 (M_{i+1} - r_i), r_i)``, from the last
    layer down to ``i = 2``. This is the paper's recursive *upper bound* on the distance between two
    nonzero taps that layers 2..n leave for layer 1 to bridge, not that distance itself: for rates
    (1, 3, 1), layers (3, 1) reach every offset from -4 to 4 (largest gap 1), yet ``M_2 = 5``.
    ``r_1`` never enters (in the course's reading of the paper's examples, a group starts at rate
    1), and for a single layer M_2 does not exist: ``r_1`` itself is returned. ``hdc`` gives the
    whole verdict; ``holes`` gives the exact answer.
    """
    rates = check_dilations(dilations)
    _check_odd_kernel(kernel_size)
    m = rates[-1]
    for r in reversed(rates[1:-1]):
        m = max(m - 2 * r, m - 2 * (m - r), r)
    return m


class HDCVerdict(NamedTuple):
    """The Hybrid Dilated Convolution criterion of Wang et al. (2018, section 3.2), rule by rule.

    ``ok`` is True when every rule the paper states holds: ``m2_ok`` (``M_2 <= K``) and no common
    factor (``common_factor``, the gcd of the rates, equals 1). ``starts_at_one`` records the
    assumption behind both rules (the paper's groups begin at rate 1); it is not part of ``ok``,
    and a schedule that passes without it may still leave holes, e.g. (2, 3, 5). ``failed`` names
    the rules that fail; ``reason`` says the same in a sentence.
    """

    rates: tuple[int, ...]
    kernel_size: int
    m2: int
    m2_ok: bool
    common_factor: int
    ok: bool
    starts_at_one: bool
    failed: tuple[str, ...]
    reason: str

    @property
    def short(self) -> str:
        """A few words for a table cell: 'pass', 'fail: M2 > 3', 'fail: factor 2', 'pass (r1 = 2)'."""
        if self.ok:
            return "pass" if self.starts_at_one else f"pass (r1 = {self.rates[0]})"
        parts = []
        if not self.m2_ok:
            parts.append(f"M2 > {self.kernel_size}")
        if self.common_factor > 1:
            parts.append(f"factor {self.common_factor}")
        return "fail: " + ", ".join(parts)


def hdc(dilations: Sequence[int], kernel_size: int = 3) -> HDCVerdict:
    """The whole HDC criterion of Wang et al. (2018), "Understanding Convolution for Semantic Segmentation".

    Section 3.2 asks two things of a group of ``K x K`` dilated layers with rates ``r_1 .. r_n``:

    1. ``M_2 <= K``, with ``M_i`` from ``hdc_max_distance`` (their examples: (1, 2, 5) works,
       M_2 = 2; (1, 2, 9) does not, M_2 = 5);
    2. the rates must not share a common factor greater than 1 (such as 2, 4, 8), or the top layer
       still grids.

    Both are written for groups that start at rate 1, as all their examples do. The criterion is a
    design rule, not a hole count: compare it with ``holes``/``has_gridding``, which are exact.
    """
    rates = check_dilations(dilations)
    k = _check_odd_kernel(kernel_size)
    m2 = hdc_max_distance(rates, k)
    factor = 0
    for r in rates:
        factor = gcd(factor, r)
    m2_ok = m2 <= k
    failed = tuple(name for name, broken in (("M2 <= K", not m2_ok), ("no common factor", factor > 1)) if broken)
    starts_at_one = rates[0] == 1
    rule1 = f"M2 = {m2} {'<=' if m2_ok else '>'} K = {k}"
    rule2 = "no common factor" if factor == 1 else f"the rates share the common factor {factor}"
    if not failed:
        reason = f"passes both rules: {rule1}, {rule2}"
        if not starts_at_one:
            reason += (
                f"; but this group starts at rate {rates[0]}, and the course reads the paper's"
                " examples as groups that start at rate 1"
            )
    else:
        broken = [rule1] if not m2_ok else []
        if factor > 1:
            broken.append(rule2)
        reason = "fails: " + " and ".join(broken)
    return HDCVerdict(rates, k, m2, m2_ok, factor, not failed, starts_at_one, failed, reason)


@dataclass(frozen=True)
class GriddingReport:
    """The numbers behind a gradient picture, for a stack of all-ones k x k kernels (unbounded input)."""

    dilations: tuple[int, ...]
    kernel_size: int
    size: int  # receptive-field size (one side)
    holes_1d: int
    holes_2d: int
    coverage: float  # fraction of the receptive field's pixels reached by at least one path
    centre_weight: int
    max_weight: int
    centre_to_max: float
    cv: float  # coefficient of variation of the 2D path counts over the receptive field (0 = uniform)
    hdc_m2: int
    hdc_ok: bool  # the whole HDC criterion (both rules of ``hdc``), not M_2 alone
    hdc: HDCVerdict


def describe(dilations: Sequence[int], kernel_size: int = 3) -> GriddingReport:
    """Receptive field, holes, centre-to-max weight, uniformity and the whole HDC verdict (``hdc``) of a schedule."""
    rates = check_dilations(dilations)
    counts = path_counts(rates, kernel_size)
    side = len(counts)
    reached = int(np.count_nonzero(counts))
    centre = int(counts[side // 2]) ** 2
    biggest = int(counts.max()) ** 2
    verdict = hdc(rates, kernel_size)
    # CV of the 2D map outer(c, c) without building it: its mean is (S1 / R)^2 and the mean of its
    # squares (S2 / R)^2, with S1 = sum c and S2 = sum c^2; so CV^2 = R^2 S2^2 / S1^4 - 1, exactly.
    s1 = int(counts.sum()) if counts.dtype == np.int64 else sum(counts.tolist())
    exact = counts.dtype == object or int(kernel_size) ** (2 * len(rates)) > _INT64_MAX
    s2 = sum(c * c for c in counts.tolist()) if exact else int(np.dot(counts, counts))
    cv = math.sqrt(max(float(Fraction(side * side * s2 * s2, s1**4)) - 1.0, 0.0))
    return GriddingReport(
        dilations=rates,
        kernel_size=int(kernel_size),
        size=side,
        holes_1d=side - reached,
        holes_2d=side * side - reached * reached,
        coverage=reached * reached / (side * side),
        centre_weight=centre,
        max_weight=biggest,
        centre_to_max=centre / biggest,
        cv=cv,
        hdc_m2=verdict.m2,
        hdc_ok=verdict.ok,
        hdc=verdict,
    )


def report_table(schedules: Mapping[str, Sequence[int]], kernel_size: int = 3) -> str:
    """A text table of ``describe`` for several named schedules (one row each).

    Columns: receptive field R, holes (2D), coverage, centre/max path counts, CV, then the HDC
    criterion rule by rule: M2, the rates' common factor (gcd), and the verdict with the rule that
    failed (``HDCVerdict.short``).
    """
    for key, rates in check_named_mapping("schedules", schedules, "dilation rates").items():
        check_dilations(rates, f"schedules[{key!r}]")
    header = (
        f"{'schedule':<22}{'rates':<18}{'RF':>5}{'holes':>7}{'cover':>7}{'centre/max':>12}{'CV':>6}"
        f"{'M2':>5}{'gcd':>5}  HDC"
    )
    lines = [header, "-" * len(header)]
    for name, rates in schedules.items():
        r = describe(rates, kernel_size)
        lines.append(
            f"{name:<22}{str(r.dilations):<18}{r.size:>5}{r.holes_2d:>7}{r.coverage:>7.0%}"
            f"{f'{r.centre_weight}/{r.max_weight}':>12}{r.cv:>6.2f}{r.hdc_m2:>5}{r.hdc.common_factor:>5}  {r.hdc.short}"
        )
    return "\n".join(lines)


def spread(grid: Any) -> float:
    """Standard deviation, in pixels, of a non-negative 2D map read as a distribution over rows.

    For a stack of ``L`` all-ones 3-tap layers at dilation 1 the row marginal is the ``L``-fold
    convolution of [1, 1, 1], whose variance is ``2L/3``: the spread grows like sqrt(L) while the
    receptive field grows like ``2L + 1``. Luo et al. (2016) find the same sqrt(L) law for the
    effective receptive field of random networks.
    """
    grid = check_array("grid", grid, finite=True).astype(np.float64)
    if grid.ndim != 2:
        raise ValueError(f"grid must be a 2D map, got shape {grid.shape}")
    if np.any(grid < 0):
        raise ValueError("grid must be non-negative (pass |gradient|)")
    marginal = grid.sum(axis=1)
    total = marginal.sum()
    if total == 0:
        raise ValueError("grid is all zeros: no spread to measure")
    offsets = np.arange(len(marginal), dtype=np.float64)
    mean = (marginal * offsets).sum() / total
    return float(np.sqrt((marginal * (offsets - mean) ** 2).sum() / total))


def valid_tap_fraction(size: int, rate: int, kernel_size: int = 3) -> float:
    """Mean fraction of a k x k atrous kernel's taps that land inside a size x size map ('same' padding).

    Output pixel ``i`` reads ``i + (t - (k-1)/2) * rate``; taps outside ``[0, size)`` read padding.
    The 2D count is the product of the row and column counts, so the mean fraction is
    ``(mean_i v(i) / k)^2`` with ``v(i)`` the valid taps of row ``i``. As ``rate`` reaches ``size`` it
    falls to ``1 / k^2``: only the centre tap is left (Chen et al. 2017, DeepLabv3, fig. 4).
    """
    size = check_int("size", size)
    rate = check_int("rate", rate)
    k = _check_odd_kernel(kernel_size)
    half = (k - 1) // 2
    # tap t of offset o = (t - half) rate lands inside for size - |o| of the rows (none once |o| >= size)
    valid = sum(max(0, size - abs((t - half) * rate)) for t in range(k))
    return float((valid / size / k) ** 2)
