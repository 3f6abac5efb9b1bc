"""Checkers for the "Check yourself" exercises.

Each checker calls the learner's function on hidden cases, compares with the course's reference
implementation and prints one line: that every case passes, or the first case that does not and
why (wrong value, wrong shape, an exception). Cases come from a fixed seed, so the printed verdict
is the same on every machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

PASS = "PASS"
FAIL = "NOT YET"


def _call_repr(name: str, args: tuple, kwargs: dict) -> str:
    def short(value: Any) -> str:
        if isinstance(value, np.ndarray):
            if value.ndim > 1 or value.size > 12:
                return f"array(shape={value.shape})"
            return np.array2string(value, separator=", ")
        return repr(value)

    parts = [short(a) for a in args] + [f"{k}={short(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _same(got: Any, expected: Any, atol: float) -> tuple[bool, str]:
    if isinstance(expected, np.ndarray):
        if got is None:
            return False, "returned None, expected an array"
        got = np.asarray(got)
        if got.shape != expected.shape:
            return False, f"returned shape {got.shape}, expected {expected.shape}"
        if not np.allclose(got, expected, atol=atol, rtol=0):
            return False, f"values differ by up to {float(np.max(np.abs(got - expected))):.3g}"
        return True, ""
    if isinstance(expected, tuple):
        ok = isinstance(got, tuple | list) and tuple(got) == expected
        return ok, "" if ok else f"returned {got!r}, expected {expected!r}"
    if isinstance(expected, float) and not isinstance(got, bool) and isinstance(got, int | float | np.number):
        ok = abs(float(got) - expected) <= atol
        return ok, "" if ok else f"returned {got!r}, expected {expected!r}"
    if isinstance(expected, bool | np.bool_):
        ok = isinstance(got, bool | np.bool_) and bool(got) == bool(expected)
    elif isinstance(expected, list):
        ok = isinstance(got, list | tuple | np.ndarray) and np.asarray(got).tolist() == expected
    else:  # a number: True must not pass for 1
        ok = not isinstance(got, bool | np.bool_) and got is not None and got == expected
    return ok, "" if ok else f"returned {got!r}, expected {expected!r}"


def check_cases(
    name: str,
    learner: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Iterable[tuple[tuple, dict]],
    *,
    atol: float = 1e-6,
    expect_errors: Iterable[tuple[tuple, dict, type[Exception]]] = (),
) -> bool:
    """Run ``learner`` and ``reference`` on every case; print one verdict line; return whether all pass.

    The ``check_*`` functions of the chapters wrap this and return None, so a notebook cell shows
    the verdict line only.
    """
    if not callable(learner):
        print(f"{FAIL}: expected a function for {name}, got {type(learner).__name__}")
        return False
    cases = list(cases)
    error_cases = list(expect_errors)
    total = len(cases) + len(error_cases)
    for args, kwargs in cases:
        expected = reference(*args, **kwargs)
        try:
            got = learner(*args, **kwargs)
        except Exception as exc:  # the learner's bug is the thing to report
            print(f"{FAIL}: {_call_repr(name, args, kwargs)} raised {type(exc).__name__}: {exc}")
            return False
        ok, why = _same(got, expected, atol)
        if not ok:
            print(f"{FAIL}: {_call_repr(name, args, kwargs)} {why}")
            return False
    for args, kwargs, error in error_cases:
        try:
            got = learner(*args, **kwargs)
        except error:
            continue
        except Exception as exc:
            print(
                f"{FAIL}: {_call_repr(name, args, kwargs)} should raise {error.__name__}, raised {type(exc).__name__}"
            )
            return False
        print(f"{FAIL}: {_call_repr(name, args, kwargs)} should raise {error.__name__}, returned {got!r}")
        return False
    print(f"{PASS}: all {total} hidden cases of {name} agree with the reference.")
    return True


def _rng() -> np.random.Generator:
    return np.random.default_rng(2024)


# Chapter 1 ------------------------------------------------------------------------------------


def check_effective_kernel_size(learner: Callable[[int, int], int]) -> None:
    """Exercise: ``effective_kernel_size(k, d)``, the span of a k-tap kernel at dilation d."""
    from .conv import effective_kernel_size

    cases = [((k, d), {}) for k in (1, 2, 3, 5, 7) for d in (1, 2, 3, 6)]
    check_cases("effective_kernel_size", learner, effective_kernel_size, cases)


def check_conv_output_size(learner: Callable[..., int]) -> None:
    """Exercise: ``conv_output_size(n, k, stride, padding, dilation)`` with symmetric int padding."""
    from .conv import conv_output_size

    rng = _rng()
    cases = []
    while len(cases) < 30:
        n, k, s, p, d = (
            int(v)
            for v in (
                rng.integers(1, 40),
                rng.integers(1, 6),
                rng.integers(1, 4),
                rng.integers(0, 4),
                rng.integers(1, 5),
            )
        )
        if (k - 1) * d + 1 <= n + 2 * p:
            cases.append(((n, k, s, p, d), {}))
    check_cases("conv_output_size", learner, conv_output_size, cases)


def check_dilate_kernel_1d(learner: Callable[[np.ndarray, int], np.ndarray]) -> None:
    """Exercise: insert d - 1 zeros between the taps of a 1D kernel."""
    from .conv import dilate_kernel

    rng = _rng()
    cases = [((rng.integers(-9, 10, size=k).astype(float), d), {}) for k in (1, 2, 3, 4) for d in (1, 2, 3)]
    check_cases("dilate_kernel_1d", learner, dilate_kernel, cases)


# Chapter 2 ------------------------------------------------------------------------------------


def _conv1d_valid(x: np.ndarray, w: np.ndarray, d: int) -> np.ndarray:
    from .conv import conv1d

    return conv1d(x, w, dilation=d)


def check_dilated_conv1d(learner: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> None:
    """Exercise: single-channel dilated cross-correlation, no padding, stride 1."""
    rng = _rng()
    cases = []
    for length, k, d in [(10, 3, 1), (10, 3, 2), (12, 2, 5), (9, 1, 3), (16, 4, 3), (7, 3, 3), (20, 5, 2)]:
        signal = rng.integers(-5, 6, size=length).astype(float)
        cases.append(((signal, rng.integers(-3, 4, size=k).astype(float), d), {}))
    check_cases("dilated_conv1d", learner, _conv1d_valid, cases)


def _same_padding(k: int, d: int) -> tuple[int, int]:
    total = (k - 1) * d
    return (total // 2, total - total // 2)


def check_same_padding(learner: Callable[[int, int], tuple[int, int]]) -> None:
    """Exercise: PyTorch's (before, after) split of 'same' padding for k taps at dilation d."""
    cases = [((k, d), {}) for k in (1, 2, 3, 4, 5) for d in (1, 2, 3)]
    check_cases("same_padding", learner, _same_padding, cases)


def _tap_positions(i: int, k: int, d: int, s: int) -> tuple[int, ...]:
    return tuple(i * s + j * d for j in range(k))


def check_tap_positions(learner: Callable[[int, int, int, int], Iterable[int]]) -> None:
    """Exercise: the padded-input indices that output i reads (k taps, dilation d, stride s)."""
    cases = [((i, k, d, s), {}) for i in (0, 1, 5) for k in (1, 3) for d in (1, 2, 4) for s in (1, 2)]

    def as_tuple(*args: int) -> Any:
        got = learner(*args)
        try:
            return tuple(int(v) for v in got)
        except TypeError:
            return got  # reported as it is: "returned None, expected (0,)"

    check_cases("tap_positions", as_tuple, _tap_positions, cases)


# Chapters 4 and 5 -----------------------------------------------------------------------------

_SCHEDULES = [(1,), (2,), (1, 1), (2, 2), (1, 2), (1, 2, 4), (2, 2, 2), (1, 1, 2, 3), (2, 3, 2, 3), (1, 3, 9),
              (1, 2, 9), (2, 3, 5), (1, 3, 1), (3, 1), (4, 2, 1), (1, 2, 5, 9), (5, 5)]  # fmt: skip


def _path_counts_list(dilations: tuple[int, ...]) -> list[int]:
    from .receptive_field import path_counts

    return path_counts(dilations).tolist()


def check_path_counts(learner: Callable[[tuple[int, ...]], Iterable[int]]) -> None:
    """Exercise: 1D path counts of a stack of 3-tap all-ones kernels (offsets -R..R)."""
    cases = [((rates,), {}) for rates in _SCHEDULES]
    check_cases("path_counts", learner, _path_counts_list, cases)


def _centre_to_max(dilations: tuple[int, ...]) -> float:
    from .receptive_field import describe

    return describe(dilations).centre_to_max


def check_centre_to_max(learner: Callable[[tuple[int, ...]], float]) -> None:
    """Exercise: 2D centre paths / largest paths, for 3x3 all-ones kernels."""
    cases = [((rates,), {}) for rates in _SCHEDULES]
    check_cases("centre_to_max", learner, _centre_to_max, cases, atol=1e-9)


def _has_holes(dilations: tuple[int, ...]) -> bool:
    from .receptive_field import has_gridding

    return has_gridding(dilations)


def check_has_holes(learner: Callable[[tuple[int, ...]], bool]) -> None:
    """Exercise: does a stack of 3x3 layers leave holes inside its receptive field? (exact)"""
    cases = [((rates,), {}) for rates in _SCHEDULES]
    check_cases("has_holes", learner, _has_holes, cases)


def _fibonacci(n: int) -> list[int]:
    from .sequences import fibonacci

    return fibonacci(n)


def check_fibonacci(learner: Callable[[int], Iterable[int]]) -> None:
    """Exercise: the first n Fibonacci dilation rates, starting 1, 1."""
    check_cases("fibonacci", learner, _fibonacci, [((n,), {}) for n in range(1, 13)])


def _fastest(n: int) -> list[int]:
    from .sequences import fastest_hole_free

    return fastest_hole_free(n)


def check_fastest_hole_free(learner: Callable[[int], Iterable[int]]) -> None:
    """Exercise: n rates for 3x3 kernels, no holes, largest receptive field."""
    check_cases("fastest_hole_free", learner, _fastest, [((n,), {}) for n in range(1, 9)])


# Chapter 3 ------------------------------------------------------------------------------------


def _to_keras(w: np.ndarray) -> np.ndarray:
    from .tf_bridge import torch_to_keras_kernel

    return torch_to_keras_kernel(w)


def check_torch_to_keras_kernel(learner: Callable[[np.ndarray], np.ndarray]) -> None:
    """Exercise: convert a PyTorch OIHW kernel to Keras' HWIO layout."""
    rng = _rng()
    shapes = [(1, 1, 2, 2), (4, 3, 3, 3), (2, 5, 1, 3), (3, 2, 2, 5), (8, 1, 3, 3)]
    cases = [((rng.integers(-9, 10, size=shape).astype(float),), {}) for shape in shapes]
    check_cases("torch_to_keras_kernel", learner, _to_keras, cases)


def _tf_same(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    from .tf_bridge import tf_same_padding

    return tf_same_padding(n, k, s, d)


def check_tf_same_padding(learner: Callable[[int, int, int, int], tuple[int, int]]) -> None:
    """Exercise: TensorFlow's (before, after) padding for 'same' at any stride."""
    cases = [((n, k, s, d), {}) for n in (7, 8, 9, 16) for k in (1, 2, 3) for s in (1, 2, 3) for d in (1, 2)]
    check_cases("tf_same_padding", learner, _tf_same, cases)


# Chapter 6 ------------------------------------------------------------------------------------


def _wavenet_rf(n_layers: int, n_stacks: int, kernel_size: int) -> int:
    from .receptive_field import receptive_field

    return receptive_field([(kernel_size, 1, 2**i) for _ in range(n_stacks) for i in range(n_layers)]).size


def check_wavenet_receptive_field(learner: Callable[[int, int, int], int]) -> None:
    """Exercise: receptive field of a WaveNet (dilations 1..2^(n-1), repeated per stack)."""
    cases = [((n, s, k), {}) for n in (1, 3, 10) for s in (1, 2, 3) for k in (2, 3)]
    check_cases("wavenet_receptive_field", learner, _wavenet_rf, cases)


def _min_layers(delay: int, kernel_size: int = 2) -> int:
    n = 1
    while _wavenet_rf(n, 1, kernel_size) < delay + 1:
        n += 1
    return n


def check_min_layers_for_delay(learner: Callable[[int], int]) -> None:
    """Exercise: fewest WaveNet layers (kernel 2, one stack) whose output can see x[t - delay]."""
    delays = (0, 1, 2, 3, 7, 8, 15, 16, 20, 100, 1023)
    check_cases("min_layers_for_delay", learner, _min_layers, [((h,), {}) for h in delays])


def _valid_taps(size: int, rate: int) -> float:
    from .receptive_field import valid_tap_fraction

    return valid_tap_fraction(size, rate)


def check_valid_tap_fraction(learner: Callable[[int, int], float]) -> None:
    """Exercise: mean fraction of a 3x3 atrous kernel's taps inside a size x size map."""
    cases = [((n, r), {}) for n in (1, 5, 17, 33) for r in (1, 2, 6, 12, 18, 40)]
    check_cases("valid_tap_fraction", learner, _valid_taps, cases, atol=1e-9)


# Chapter 2, "find the bug" ------------------------------------------------------------------------


def _wrapped_conv1d(x: np.ndarray, w: np.ndarray, d: int) -> np.ndarray:
    """The loop with ``x[i - k*d]``: what Python computes when negative indices wrap around."""
    n_out = len(x) - (len(w) - 1) * d
    return np.array([sum(w[k] * x[i - k * d] for k in range(len(w))) for i in range(n_out)], dtype=float)


def _wraparound_report(x: np.ndarray, w: np.ndarray, d: int) -> list[str]:
    """Lines that show which outputs read a negative index, and where Python took it from."""
    n_out = len(x) - (len(w) - 1) * d
    wrapped = [i for i in range(n_out) if i - (len(w) - 1) * d < 0]
    first = [-k * d for k in range(len(w))]
    reads = ", ".join(f"x[{j}]" for j in first)
    taken = ", ".join(f"x[{j % len(x)}]" for j in first if j < 0)
    return [
        f"  Output 0 read {reads}: a negative index is not an error in Python or NumPy, it counts from",
        f"  the end, so the loop silently used {taken} of a {len(x)}-sample signal.",
        f"  {len(wrapped)} of the {n_out} outputs read at least one sample from the wrong end.",
    ]


def _find_the_bug_cases() -> list[tuple[tuple, dict]]:
    """Hidden cases: (signal, kernel, d), small integers so a verdict line is readable."""
    rng = _rng()
    cases = []
    for length, k, d in [(9, 3, 2), (10, 3, 1), (12, 2, 5), (16, 4, 3), (8, 1, 4), (11, 3, 4), (20, 5, 2), (7, 3, 3)]:
        signal = rng.integers(-5, 6, size=length).astype(float)
        cases.append(((signal, rng.integers(-3, 4, size=k).astype(float), d), {}))
    return cases


def check_find_the_bug_conv1d(learner: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> None:
    """Exercise: repair a dilated-convolution loop that runs without error and returns wrong numbers.

    The reference is the framework convention (cross-correlation, no padding, stride 1):
    ``y[i] = sum_k w[k] x[i + k d]``. When the learner's outputs equal the loop that reads
    ``x[i - k d]``, the verdict also shows which samples wrapped around to the end of the signal;
    when they equal a true convolution (kernel flipped), it says so.
    """
    cases = _find_the_bug_cases()
    if not callable(learner):
        check_cases("find_the_bug_conv1d", learner, _conv1d_valid, cases)
        return
    last: dict[str, Any] = {}

    def recorded(x: np.ndarray, w: np.ndarray, d: int) -> Any:
        last.clear()
        last["args"] = (x.copy(), w.copy(), d)
        last["result"] = result = learner(x, w, d)
        return result

    if check_cases("find_the_bug_conv1d", recorded, _conv1d_valid, cases) or "result" not in last:
        return
    x, w, d = last["args"]
    try:
        got = np.asarray(last["result"], dtype=float)
    except (TypeError, ValueError):
        return
    if got.shape == (len(x) - (len(w) - 1) * d,):
        if np.allclose(got, _wrapped_conv1d(x, w, d)):
            print("\n".join(_wraparound_report(x, w, d)))
        elif np.allclose(got, _conv1d_valid(x, w[::-1], d)):
            print("  These are the outputs of a true convolution (kernel flipped); frameworks do not flip it.")
