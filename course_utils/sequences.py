"""Dilation schedules: Fibonacci, powers, HDC sawtooth, and the fastest hole-free growth.

Why some schedules never leave holes (stacks of K x K kernels, K odd, h = (K - 1) / 2): if the
paths of the first layers reach every offset of their receptive field, an interval of ``R``
offsets, and the next rate is ``d``, the next layer adds copies of that interval shifted by
``t d`` for ``t = -h..h``. Neighbouring copies touch or overlap exactly when ``d <= R``, and then
the reach is again a full interval, now of ``R + 2 h d`` offsets. So a schedule that starts at 1
and never lets a rate exceed the receptive field of the layers before it (``d <= R``) is
hole-free. The largest allowed rate each time, ``d = R``, gives ``d = 1, K, K^2, ...`` and a
receptive field of ``K^n``: powers of 3 for 3x3 kernels. Fibonacci rates grow more slowly than
that bound (``F_{n+1} <= 2 (F_1 + ... + F_n) + 1``), so they never leave holes.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._checks import check_dilations, check_int, check_odd_kernel

__all__ = ["contiguous_growth", "fastest_hole_free", "fibonacci", "powers", "sawtooth"]


def fibonacci(n: int) -> list[int]:
    """The first ``n`` Fibonacci dilation rates: [1, 1, 2, 3, 5, 8, ...] (n >= 1)."""
    n = check_int("n", n, 1, 10_000)  # a schedule, not a stress test: more layers than any network
    rates = [1, 1][:n]
    while len(rates) < n:
        rates.append(rates[-1] + rates[-2])
    return rates


def powers(base: int, n: int) -> list[int]:
    """[1, base, base^2, ..., base^(n-1)]: doubling for base 2 (Yu & Koltun, WaveNet), tripling for 3."""
    base = check_int("base", base)
    n = check_int("n", n, 1, 10_000)  # a schedule, not a stress test: more layers than any network
    return [base**i for i in range(n)]


def sawtooth(n: int, cycle: Sequence[int] = (1, 2, 3)) -> list[int]:
    """The HDC sawtooth of Wang et al. (2018): ``cycle`` repeated and cut to ``n`` rates.

    The paper groups layers so that the rates within a group rise and then restart (e.g. 1, 2, 3,
    1, 2, 3), and asks that a group's rates share no common factor > 1, which (1, 2, 3) satisfies.
    """
    n = check_int("n", n, 1, 10_000)  # a schedule, not a stress test: more layers than any network
    rates = check_dilations(cycle, "cycle")
    return [rates[i % len(rates)] for i in range(n)]


def fastest_hole_free(n: int, kernel_size: int = 3) -> list[int]:
    """The ``n`` rates with the largest receptive field among schedules that grow without holes.

    Greedy: each rate is the largest allowed, ``d = R``, the receptive field of the layers so far.
    This gives the powers of ``kernel_size`` (1, 3, 9, 27, ... for 3x3) and a receptive field of
    ``kernel_size ** n``; the tests confirm by exhaustive search that no hole-free schedule of
    ``n`` layers reaches further.
    """
    n = check_int("n", n, 1, 10_000)  # a schedule, not a stress test: more layers than any network
    k = check_int("kernel_size", kernel_size)
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd, got kernel_size={k}")
    if k == 1:
        raise ValueError("kernel_size=1 never grows the receptive field; use kernel_size >= 3")
    half, radius, rates = (k - 1) // 2, 0, []
    for _ in range(n):
        rate = 2 * radius + 1
        rates.append(rate)
        radius += half * rate
    return rates


def contiguous_growth(dilations: Sequence[int], kernel_size: int = 3) -> bool:
    """The sufficient condition of the module docstring: every rate <= R, the field of the layers before.

    True implies no holes. False does not imply holes: a later layer can fill the gaps left by an
    earlier one, as in (2, 1), so the exact test is ``receptive_field.has_gridding``.
    """
    rates = check_dilations(dilations)
    k = check_odd_kernel(kernel_size)
    half, radius = (k - 1) // 2, 0
    for rate in rates:
        if rate > 2 * radius + 1:
            return False
        radius += half * rate
    return True
