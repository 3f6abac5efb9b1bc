"""Checkers for the "Check yourself" exercises.

Each checker calls the learner's function on hidden cases, compares with the course's reference
implementation and prints one line: that every case passes, or the first case that does not and
why (wrong value, wrong shape, an exception). Cases come from a fixed seed, so the printed verdict
is the same on every machine.
"""

from __future__ import annotations

import copy
import math
import numbers
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from typing import Any

import numpy as np

from ._checks import check_callable, check_float, check_str

PASS = "PASS"
FAIL = "NOT YET"

# Seconds one call of the learner's function may take before the checker stops it. Every hidden
# case is tiny, so a call that takes this long is an endless loop (``while`` without a step).
TIME_LIMIT = 5.0
# Stop an endless loop with SIGALRM where Python can (Linux and macOS, in the main thread: where
# Jupyter runs a cell). Elsewhere (Windows, a worker thread) the call runs in a helper thread that
# the checker stops waiting for; the loop itself keeps running until the kernel is restarted.
USE_SIGNALS = hasattr(signal, "setitimer")
_MAX_SHOWN = 300  # characters of a returned value shown in a verdict


class _TimedOut(BaseException):
    """Raised into the learner's code by the alarm; a BaseException, so ``except Exception`` lets it out."""


def _call_with_limit(fn: Callable[..., Any], args: tuple, kwargs: dict, seconds: float) -> Any:
    """``fn(*args, **kwargs)``, or raise ``_TimedOut`` after ``seconds``."""
    if USE_SIGNALS and threading.current_thread() is threading.main_thread():
        return _call_with_alarm(fn, args, kwargs, seconds)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the checker's thread, which reports it
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="course_utils learner call", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise _TimedOut("still running")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _call_with_alarm(fn: Callable[..., Any], args: tuple, kwargs: dict, seconds: float) -> Any:
    """Run ``fn`` with SIGALRM armed: at the limit ``_TimedOut`` is raised inside the learner's code.

    ``_TimedOut`` is a BaseException, so ``except Exception`` in the learner's loop lets it out; a
    bare ``except:`` that catches it is answered by another alarm every 0.2 s until one lands
    outside the ``try`` (a loop that swallows every exception forever cannot be stopped from
    Python at all: Jupyter's interrupt button, a KeyboardInterrupt, would be swallowed too).
    """

    def on_alarm(signum: int, frame: Any) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        raise _TimedOut

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args, **kwargs)
    finally:
        while True:  # the alarm may fire while it is being switched off: switch it off anyway
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                break
            except _TimedOut:
                continue
        signal.signal(signal.SIGALRM, previous)


def _one_line(text: str, limit: int = _MAX_SHOWN) -> str:
    text = text.replace("\r", " ").replace("\n", " ")
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        if value.ndim > 1 or value.size > 12:
            return f"array(shape={value.shape})"
        # setup()'s print options, fixed here so a verdict reads the same with or without setup()
        return np.array2string(value, separator=", ", precision=4, suppress_small=True, max_line_width=10**6)
    return _one_line(repr(value))


def _call_repr(name: str, args: tuple, kwargs: dict) -> str:
    parts = [_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _shown(got: Any) -> str:
    """A returned value in a verdict: its repr on one line, with its type when the repr hides it."""
    text = _short(got)
    if isinstance(got, str | bytes | np.ndarray | np.generic) or got is None:
        return text
    kind = type(got).__name__
    return text if kind in ("int", "float", "bool", "list", "tuple") else f"{text} ({kind})"


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _whole_float_hint(got: Any, expected: Any) -> str:
    return f"returned {_shown(got)}, expected {expected!r}: the right value, but a float; return an int (// not /)"


def _same_int(got: Any, expected: int) -> tuple[bool, str]:
    """An int answer: int or a NumPy integer. True is not 1, 4.0 is not 4 (a sign of / for //)."""
    if isinstance(got, np.ndarray) and got.ndim == 0:
        got = got[()]
    if _is_int(got):
        ok = int(got) == expected
        return ok, "" if ok else f"returned {_shown(got)}, expected {expected!r}"
    if isinstance(got, numbers.Real) and not isinstance(got, bool | np.bool_) and float(got) == expected:
        return False, _whole_float_hint(got, expected)
    return False, f"returned {_shown(got)}, expected {expected!r}"


def _same_float(got: Any, expected: float, atol: float) -> tuple[bool, str]:
    """A real number within ``atol`` (looser for float32/float16 answers, whose precision is lower)."""
    if isinstance(got, np.ndarray) and got.ndim == 0:
        got = got[()]
    if isinstance(got, bool | np.bool_) or not isinstance(got, numbers.Real):
        return False, f"returned {_shown(got)}, expected {expected!r}"
    tolerance = atol
    if isinstance(got, np.floating) and np.finfo(got.dtype).eps > np.finfo(np.float64).eps:
        tolerance = max(atol, 4 * float(np.finfo(got.dtype).eps) * max(1.0, abs(expected)))
    ok = math.isfinite(float(got)) and abs(float(got) - expected) <= tolerance
    return ok, "" if ok else f"returned {_shown(got)}, expected {expected!r}"


def _same_bool(got: Any, expected: bool) -> tuple[bool, str]:
    if isinstance(got, bool | np.bool_):
        ok = bool(got) == bool(expected)
        return ok, "" if ok else f"returned {got!r}, expected {expected!r}"
    return False, f"returned {_shown(got)}, expected {expected!r} (True or False)"


def _same_sequence(got: Any, expected: tuple | list) -> tuple[bool, str]:
    """A list or tuple of ints: a list, tuple, range or 1D integer array passes; a str or a set does not."""
    plain = f"returned {_shown(got)}, expected {expected!r}"
    kind = "a tuple" if isinstance(expected, tuple) else "a list"
    if isinstance(got, str | bytes | Set | Mapping):
        return False, f"{plain} ({kind} of integers, not a {type(got).__name__})"
    if isinstance(got, np.ndarray):
        if got.ndim != 1:
            return False, f"returned an array of shape {got.shape}, expected {kind} of {len(expected)} integers"
        items = got.tolist()
    elif isinstance(got, list | tuple | range):
        items = list(got)
    elif isinstance(got, Iterator):
        return False, f"returned a generator, expected {expected!r} (wrap it in {kind[2:]}(...))"
    else:
        return False, plain
    if len(items) == len(expected) and all(_is_int(v) or isinstance(v, np.integer) for v in items):
        ok = [int(v) for v in items] == list(expected)
        return ok, "" if ok else plain
    same_length = len(items) == len(expected)
    whole = same_length and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and float(v) == e
        for v, e in zip(items, expected, strict=True)
    )
    if whole:
        return False, f"{plain}: the right values, but floats; return ints (// not /, or int(...))"
    return False, plain


def _same_array(got: Any, expected: np.ndarray, atol: float) -> tuple[bool, str]:
    """Array-like real numbers of the expected shape (list, tuple, any float/int dtype, a tensor)."""
    if got is None:
        return False, "returned None, expected an array"
    want = f"an array of shape {expected.shape}"
    if isinstance(got, str | bytes | Set | Mapping):
        return False, f"returned {_shown(got)}, expected {want}"
    if hasattr(got, "detach") and hasattr(got, "cpu"):  # a torch tensor
        got = got.detach().cpu().numpy()
    try:
        arr = np.asarray(got)
    except (ValueError, TypeError):
        return False, f"returned {_shown(got)}, which is not an array (rows of different lengths?), expected {want}"
    if arr.dtype.kind not in "biuf":
        return False, f"returned {_shown(got)}, expected {want} of numbers"
    if arr.shape != expected.shape:
        return False, f"returned shape {arr.shape}, expected {expected.shape}"
    if not np.all(np.isfinite(arr)):
        return False, f"returned non-finite values (NaN or inf): {_shown(arr)}, expected finite numbers"
    rtol = 0.0
    if arr.dtype.kind == "f" and np.finfo(arr.dtype).eps > np.finfo(np.float64).eps:
        rtol = 4 * float(np.finfo(arr.dtype).eps)
    if not np.allclose(arr, expected, atol=atol, rtol=rtol):
        return False, f"values differ by up to {float(np.max(np.abs(arr - expected))):.3g}"
    return True, ""


def _same(got: Any, expected: Any, atol: float) -> tuple[bool, str]:
    """Does the learner's answer equal the reference's, and is it of a kind that can be that answer?"""
    if isinstance(expected, np.ndarray):
        return _same_array(got, expected, atol)
    if isinstance(expected, _Verdict):  # a design exercise: judged by its rules, see chapter 7 below
        return _same_verdict(got, expected)
    if got is None:
        return False, f"returned None, expected {expected!r}"
    if isinstance(expected, bool | np.bool_):
        return _same_bool(got, bool(expected))
    if isinstance(expected, float):
        return _same_float(got, expected, atol)
    if isinstance(expected, numbers.Integral):
        return _same_int(got, int(expected))
    if isinstance(expected, tuple | list):
        return _same_sequence(got, expected)
    raise TypeError(f"reference returned {type(expected).__name__}, which the checker cannot compare")


def _run_learner(learner: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[str, Any]:
    """("value", result) or ("raised" | "exit" | "timeout", detail): never lets the learner's error out."""
    try:
        return "value", _call_with_limit(learner, copy.deepcopy(args), copy.deepcopy(kwargs), TIME_LIMIT)
    except _TimedOut as stop:
        return "timeout", bool(stop.args)
    except SystemExit as stop:
        return "exit", stop.code
    except Exception as exc:
        return "raised", exc


def _problem(call: str, status: str, detail: Any) -> str:
    """The verdict for a call that did not return a value."""
    if status == "timeout" and detail:  # a helper thread: Python cannot stop it, only a kernel restart
        return (
            f"{FAIL}: {call} did not return within {TIME_LIMIT:g} s (an endless loop?); restart the kernel to stop it"
        )
    if status == "timeout":
        return f"{FAIL}: {call} was stopped after {TIME_LIMIT:g} s without returning (an endless loop?)"
    if status == "exit":
        return f"{FAIL}: {call} called sys.exit({detail!r}); return the answer instead of stopping Python"
    message = _one_line(str(detail))
    return f"{FAIL}: {call} raised {type(detail).__name__}" + (f": {message}" if message else "")


def _check_case_list(cases: Any, name: str, width: int) -> list[tuple]:
    if isinstance(cases, str | bytes | Mapping) or not isinstance(cases, Iterable):
        raise TypeError(f"{name} must be a list of (args, kwargs) pairs, got {cases!r}")
    checked = []
    for index, case in enumerate(cases):
        if not (
            isinstance(case, tuple)
            and len(case) == width
            and isinstance(case[0], tuple)
            and isinstance(case[1], dict)
            and (width == 2 or isinstance(case[2], type) and issubclass(case[2], BaseException))
        ):
            shape = "(args tuple, kwargs dict)" if width == 2 else "(args tuple, kwargs dict, exception class)"
            raise TypeError(f"{name}[{index}] must be {shape}, got {case!r}")
        checked.append(case)
    return checked


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
    the verdict line only. Whatever the learner's function does, the verdict is one line: a call
    that raises, calls ``sys.exit`` or runs longer than ``TIME_LIMIT`` seconds is reported, as is
    an answer of the wrong kind (a float where an int is asked, a string for a list, True for 1).
    Each call gets its own copy of the arguments, so a function that modifies them in place
    changes neither the reference's cases nor the call shown in the verdict.
    """
    check_str("name", name, allow_empty=False)
    check_callable("reference", reference)
    atol = check_float("atol", atol, 0.0)
    cases = _check_case_list(cases, "cases", 2)
    error_cases = _check_case_list(expect_errors, "expect_errors", 3)
    if not cases and not error_cases:
        raise ValueError(f"cases must not be empty when expect_errors is empty, got {cases!r}")
    if not callable(learner):
        print(f"{FAIL}: expected a function for {name}, got {type(learner).__name__}")
        return False
    total = len(cases) + len(error_cases)
    for args, kwargs in cases:
        expected = reference(*args, **kwargs)
        call = _call_repr(name, args, kwargs)
        status, got = _run_learner(learner, args, kwargs)
        if status != "value":
            print(_problem(call, status, got))
            return False
        try:
            ok, why = _same(got, expected, atol)
        except Exception as exc:  # an answer so odd that comparing it fails: still one line
            ok, why = False, f"returned {_shown(got)}, which cannot be compared with {expected!r} ({exc})"
        if not ok:
            print(f"{FAIL}: {call} {_one_line(why, 2 * _MAX_SHOWN)}")
            return False
    for args, kwargs, error in error_cases:
        call = _call_repr(name, args, kwargs)
        status, got = _run_learner(learner, args, kwargs)
        if status == "raised" and isinstance(got, error):
            continue
        if status == "raised":
            print(f"{FAIL}: {call} should raise {error.__name__}, raised {type(got).__name__}")
        elif status == "value":
            print(f"{FAIL}: {call} should raise {error.__name__}, returned {_shown(got)}")
        else:
            print(_problem(call, status, got))
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
    check_cases("tap_positions", learner, _tap_positions, cases)


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


# Chapter 7 ------------------------------------------------------------------------------------
# Design exercises have many right answers. Their checkers judge the learner's answer against the
# rules of the exercise and pass ``check_cases`` a ``_Verdict``: equal to the reference's verdict
# exactly when the answer meets every rule, and printed with the reason when it does not.

from ._checks import check_int  # noqa: E402 -- appended section; the module header belongs to others


class _Verdict:
    """An answer and the first rule it breaks ("" when it meets them all).

    ``described`` replaces the answer's repr in the verdict line: the reference describes what a
    right answer looks like, and a tensor is shown by its shape. A learner's answer is otherwise
    shown as ``_short`` shows it, so a returned string keeps its quotes.
    """

    def __init__(self, answer: Any, problem: str = "", *, described: str | None = None):
        self.answer, self.problem, self.described = answer, problem, described

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Verdict) and not self.problem and not other.problem

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        answer = self.described if self.described is not None else _short(self.answer)
        return f"{answer}, but {self.problem}" if self.problem else answer


def _same_verdict(got: Any, expected: _Verdict) -> tuple[bool, str]:
    if isinstance(got, _Verdict) and got == expected:
        return True, ""
    if isinstance(got, _Verdict) and got.answer is None and got.described is None:
        return False, f"returned None, expected {expected!r}"
    return False, f"returned {got!r}, expected {expected!r}"


ASPP_MIN_TAPS = 3.0  # a branch must keep on average at least 3 of its 9 taps on the map
ASPP_MIN_SPAN = 0.75  # the largest branch must span at least 3/4 of the image
ASPP_MIN_RATIO = 1.5  # consecutive rates at least 1.5 times apart (distinct scales)


def _aspp_feature_size(image_size: int, output_stride: int) -> int:
    """Side of the feature map a backbone leaves: ``(image_size - 1) // output_stride + 1`` (513 -> 33 at OS 16)."""
    image_size = check_int("image_size", image_size)
    output_stride = check_int("output_stride", output_stride)
    return (image_size - 1) // output_stride + 1


def _aspp_rate_problem(rates: Any, image_size: int, output_stride: int) -> str:
    """Why three ASPP rates do not suit an image size and output stride ("" if they do).

    Rules (chapter 7): three integers, strictly increasing, each at least ``1.5`` times the one
    before; every branch keeps on average at least 3 of its 9 taps on the feature map
    (``9 * valid_tap_fraction(n, rate)``, else it is nearly a 1x1 convolution); the largest
    branch spans at least 3/4 of the image: ``2 * rate * output_stride + 1 >= 0.75 * image_size``.
    """
    from .receptive_field import valid_tap_fraction

    n = _aspp_feature_size(image_size, output_stride)
    try:
        rates = tuple(rates)
    except TypeError:
        return f"it is not a sequence of three rates ({type(rates).__name__})"
    if len(rates) != 3 or not all(isinstance(r, int | np.integer) and not isinstance(r, bool) for r in rates):
        return "ASPP here has three atrous branches: return three integers"
    if rates[0] < 1 or any(b < ASPP_MIN_RATIO * a for a, b in zip(rates, rates[1:], strict=False)):
        return "the rates must be >= 1 and each at least 1.5 times the one before (distinct scales)"
    for r in rates:
        taps = 9 * valid_tap_fraction(n, int(r))
        if taps < ASPP_MIN_TAPS:
            return (
                f"on the {n}x{n} feature map a rate-{r} branch keeps on average only {taps:.1f} of its 9 taps "
                "on real pixels (it degenerates towards a 1x1 convolution): use smaller rates"
            )
    span = 2 * int(rates[-1]) * output_stride + 1
    if span < ASPP_MIN_SPAN * image_size:
        return (
            f"the largest branch spans {span} image pixels, less than 3/4 of {image_size} "
            f"(at output stride {output_stride} one rate step is {output_stride} image pixels): use larger rates"
        )
    return ""


def _aspp_reference(image_size: int, output_stride: int) -> _Verdict:
    n = _aspp_feature_size(image_size, output_stride)
    for r3 in range(3, n + 1):  # the smallest largest-rate that spans enough, then scales below it
        middle = int(r3 / ASPP_MIN_RATIO)
        rates = (int(middle / ASPP_MIN_RATIO), middle, r3)
        if not _aspp_rate_problem(rates, image_size, output_stride):
            return _Verdict(rates, described=f"rates that meet all the rules, for example {rates}")
    raise ValueError(f"no three rates suit image_size={image_size}, output_stride={output_stride}")


def check_aspp_rates(learner: Callable[[int, int], Any]) -> None:
    """Exercise: choose three ASPP rates for an image size and output stride (rules in ``_aspp_rate_problem``)."""
    cases = [((s, os), {}) for s, os in [(513, 16), (513, 8), (321, 16), (321, 8), (769, 16), (257, 8), (1025, 32)]]
    if not callable(learner):  # the NOT YET verdict for a non-function, not a TypeError from judged
        check_cases("choose_aspp_rates", learner, _aspp_reference, cases)
        return

    def judged(image_size: int, output_stride: int) -> _Verdict:
        rates = learner(image_size, output_stride)
        return _Verdict(rates, _aspp_rate_problem(rates, image_size, output_stride))

    check_cases("choose_aspp_rates", judged, _aspp_reference, cases)


def _schedule_problem(rates: Any, min_field: int, min_ratio: float, max_rate: int, layers: int = 5) -> str:
    """Why a dilation schedule of 3x3 layers misses a design brief ("" if it meets it).

    Brief: ``layers`` integer rates in ``1..max_rate``; no holes (exact path counts, chapter 4);
    receptive field ``R = 1 + 2 sum(d) >= min_field``; 2D centre/max path-count ratio
    (``receptive_field.describe``) ``>= min_ratio``.
    """
    from .receptive_field import describe

    try:
        rates = tuple(rates)
    except TypeError:
        return f"it is not a sequence of rates ({type(rates).__name__})"
    if len(rates) != layers or not all(isinstance(r, int | np.integer) and not isinstance(r, bool) for r in rates):
        return f"the brief asks for {layers} integer rates"
    if min(rates) < 1 or max(rates) > max_rate:
        return f"every rate must lie in 1..{max_rate} (larger rates overshoot the feature map)"
    report = describe(rates)
    if report.holes_1d:
        return f"it leaves {report.holes_2d} holes in its {report.size}x{report.size} receptive field"
    if report.size < min_field:
        return f"its receptive field is {report.size}, short of {min_field}"
    if report.centre_to_max < min_ratio - 1e-12:
        return (
            f"its centre/max path ratio is {report.centre_to_max:.2f} < {min_ratio} "
            "(the centre is starved: off-centre pixels have more paths)"
        )
    return ""


SCHEDULE_BRIEFS = [(21, 1.0, 4), (33, 0.9, 4), (41, 0.9, 6), (45, 0.25, 6), (55, 0.45, 8), (67, 0.9, 10), (81, 0.9, 27)]


def _schedule_reference(min_field: int, min_ratio: float, max_rate: int) -> _Verdict:
    return _Verdict(
        None, described=f"5 rates in 1..{max_rate} without holes, R >= {min_field} and centre/max >= {min_ratio}"
    )


def check_hole_free_schedule(learner: Callable[[int, float, int], Any]) -> None:
    """Exercise: 5 rates, no holes, ``R >= min_field``, centre/max ``>= min_ratio``, rates ``<= max_rate``."""
    cases = [(brief, {}) for brief in SCHEDULE_BRIEFS]
    if not callable(learner):
        check_cases("design_schedule", learner, _schedule_reference, cases)
        return

    def judged(min_field: int, min_ratio: float, max_rate: int) -> _Verdict:
        rates = learner(min_field, min_ratio, max_rate)
        return _Verdict(rates, _schedule_problem(rates, min_field, min_ratio, max_rate))

    check_cases("design_schedule", judged, _schedule_reference, cases)


def _causal_conv_reference(x: Any, weight: Any, bias: Any, dilation: int) -> Any:
    """``y[t] = b + sum_k w[k] x[t - (K - 1 - k) d]``: ``d (K - 1)`` zeros on the left, none on the right."""
    import torch.nn.functional as F

    return F.conv1d(F.pad(x, ((weight.shape[-1] - 1) * dilation, 0)), weight, bias, dilation=dilation)


def _causal_problem(learner: Callable[..., Any], got: Any, x: Any, weight: Any, bias: Any, dilation: int) -> str:
    import torch

    from .blocks import future_leaks

    expected = _causal_conv_reference(x, weight, bias, dilation)
    if not isinstance(got, torch.Tensor):
        return f"its type is {type(got).__name__}, not torch.Tensor"
    if got.shape != expected.shape:
        return f"a causal layer of a WaveNet returns as many samples as it receives, {tuple(expected.shape)}"
    if not got.is_floating_point():
        return f"its dtype is {got.dtype}, expected floating-point numbers"
    atol = 1e-8  # a float32 (or half) answer is held to its own precision, relative to the largest output
    if torch.finfo(got.dtype).eps > torch.finfo(torch.float64).eps:
        atol = 16 * torch.finfo(got.dtype).eps * max(1.0, float(expected.abs().max()))
    if torch.allclose(got.detach().to(expected.dtype), expected, atol=atol, rtol=0):
        return ""
    leaks = future_leaks(lambda z: learner(z, weight, bias, dilation), x.shape[1], x.shape[-1])
    if leaks.future:
        return (
            f"{leaks.future} gradients flow from inputs after t into y[t]: it reads the future "
            f"(pad (K - 1) * d = {(weight.shape[-1] - 1) * dilation} zeros on the left only)"
        )
    if leaks.blind_to_present:
        return f"{leaks.blind_to_present} outputs ignore x[t] itself: it is causal but shifted too far into the past"
    gap = float((got - expected).abs().max())
    return f"it is causal, yet its values differ from the causal convolution by up to {gap:.3g}"


def check_causal_conv(learner: Callable[..., Any]) -> None:
    """Exercise: ``causal_dilated_conv(x, weight, bias, dilation)``, same length, ``y[t]`` from ``x[<= t]``."""
    import torch

    generator = torch.Generator().manual_seed(2024)
    cases = []
    shapes = [(1, 1, 2, 1, 12), (2, 3, 2, 4, 20), (3, 2, 3, 2, 16), (1, 2, 3, 5, 30), (4, 4, 2, 8, 40)]
    for channels, out, k, d, length in shapes:
        x = torch.randn(1, channels, length, dtype=torch.float64, generator=generator)
        w = torch.randn(out, channels, k, dtype=torch.float64, generator=generator)
        b = torch.randn(out, dtype=torch.float64, generator=generator)
        cases.append(((x.numpy(), w.numpy(), b.numpy(), d), {}))

    def reference(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, dilation: int) -> _Verdict:
        return _Verdict(None, described="the causal convolution of the same length")

    if not callable(learner):
        check_cases("causal_dilated_conv", learner, reference, cases)
        return

    def judged(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, dilation: int) -> _Verdict:
        x, weight, bias = (torch.from_numpy(a) for a in (x, weight, bias))  # arrays print short in the verdict
        got = learner(x, weight, bias, dilation)
        problem = _causal_problem(learner, got, x, weight, bias, dilation)
        shape = f"an output of shape {tuple(got.shape)}" if isinstance(got, torch.Tensor) else None
        return _Verdict(got, problem, described=shape)

    check_cases("causal_dilated_conv", judged, reference, cases)


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
