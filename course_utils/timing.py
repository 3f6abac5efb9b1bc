"""Wall-clock measurements for the notebooks' timing tables (never asserted in tests).

Cells that print these numbers carry nbval's ``nbval-ignore-output`` cell tag: they change from run to run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from ._checks import check_callable, check_int, check_named_mapping


def median_time(fn: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``repeat`` calls of ``fn()``, after ``warmup`` untimed calls."""
    check_callable("fn", fn)
    repeat = check_int("repeat", repeat)
    warmup = check_int("warmup", warmup, 0)
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def time_table(
    candidates: dict[str, Callable[[], object]], *, reference: str | None = None, repeat: int = 5, warmup: int = 1
) -> dict[str, float]:
    """Time every candidate, print a table (ms and ratio to ``reference``), return the seconds."""
    for name, fn in check_named_mapping("candidates", candidates, "function").items():
        check_callable(f"candidates[{name!r}]", fn)
    check_int("repeat", repeat)
    check_int("warmup", warmup, 0)
    if reference is not None and reference not in candidates:
        raise ValueError(f"reference must be one of {list(candidates)}, got {reference!r}")
    seconds = {name: median_time(fn, repeat=repeat, warmup=warmup) for name, fn in candidates.items()}
    width = max(len(name) for name in candidates) + 2
    header = f"{'':<{width}}{'median ms':>12}" + (f"{'x ' + reference:>{len(reference) + 6}}" if reference else "")
    print(header)
    for name, value in seconds.items():
        ratio = f"{value / seconds[reference]:>{len(reference) + 6}.2f}" if reference else ""
        print(f"{name:<{width}}{value * 1e3:>12.2f}{ratio}")
    return seconds
