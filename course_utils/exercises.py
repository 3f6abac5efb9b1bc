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
import pickle
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from typing import Any

import numpy as np

from ._checks import check_callable, check_float, check_int, check_str

# The references, bound when this module is imported: a notebook that later replaces
# ``conv.effective_kernel_size`` (or anything else in a module) does not change what a checker expects.
from .conv import conv1d, conv_output_size, dilate_kernel, effective_kernel_size
from .receptive_field import describe, has_gridding, path_counts, receptive_field, valid_tap_fraction
from .sequences import fastest_hole_free, fibonacci
from .tf_bridge import tf_same_padding, torch_to_keras_kernel

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
# Verdicts name the expected value of the failing case; the grading command turns this off, so a
# feedback page shows what is wrong without the hidden answer.
REVEAL_EXPECTED = True
_MODULE = sys.modules[__name__]  # the settings above are read from here at each call


class _TimedOut(BaseException):
    """Raised into the learner's code by the alarm; a BaseException, so ``except Exception`` lets it out."""


def _limit() -> float:
    """The time limit in force (read from the module, so a notebook or a test may change it)."""
    return float(_MODULE.TIME_LIMIT)


def _call_with_limit(fn: Callable[..., Any], args: tuple, kwargs: dict, seconds: float) -> Any:
    """``fn(*args, **kwargs)``, or raise ``_TimedOut`` after ``seconds``."""
    if _MODULE.USE_SIGNALS and threading.current_thread() is threading.main_thread():
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


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    """Schedule ``exception`` in a thread at its next bytecode (None: cancel a scheduled one)."""
    import ctypes

    target = ctypes.py_object(exception) if exception is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), target)


def _call_with_alarm(fn: Callable[..., Any], args: tuple, kwargs: dict, seconds: float) -> Any:
    """Run ``fn`` with SIGALRM armed: at the limit ``_TimedOut`` is raised inside the learner's code.

    ``_TimedOut`` is a BaseException, so ``except Exception`` in the learner's loop lets it out; a
    bare ``except:`` that catches it is answered by another alarm every 0.2 s until one lands
    outside the ``try``. A learner that ignores SIGALRM or switches the timer off meets a watchdog
    thread, which raises ``_TimedOut`` in the main thread 0.3 s after the limit (every 0.2 s). A
    timer already running (a checker called inside a checked function) keeps its deadline.
    """
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    if outer_left > 0:
        seconds = min(seconds, outer_left)

    done = threading.Event()

    def on_alarm(signum: int, frame: Any) -> None:
        # Python runs a handler a few bytecodes after the signal arrived: one that arrived just
        # before the timer was switched off must not raise (or re-arm) in the caller's later code.
        if done.is_set():
            return
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        raise _TimedOut

    main = threading.get_ident()

    def watchdog() -> None:
        if done.wait(seconds + 0.3):
            return
        while not done.is_set():
            _raise_in(main, _TimedOut)
            done.wait(0.2)

    guard = threading.Thread(target=watchdog, name="course_utils time limit", daemon=True)
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    guard.start()
    try:
        return fn(*args, **kwargs)
    finally:
        while True:  # the alarm may fire while it is being switched off: switch it off anyway
            try:
                done.set()
                guard.join()
                _raise_in(main, None)
                signal.setitimer(signal.ITIMER_REAL, 0)
                break
            except _TimedOut:
                continue
        signal.signal(signal.SIGALRM, previous)
        if outer_left > 0:  # the enclosing call's alarm, with what is left of its time
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 0.001))


class _Opaque:
    """A returned object that is not plain data, kept as its type name and repr (taken under the limit)."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return self.text


class _OpaqueIterator(_Opaque, Iterator):
    def __next__(self) -> Any:
        raise StopIteration


class _OpaqueCollection(_Opaque, Set):
    def __contains__(self, item: object) -> bool:
        return False

    def __iter__(self) -> Iterator:
        return iter(())

    def __len__(self) -> int:
        return 0


def _safe_text(convert: Callable[[Any], Any], value: Any) -> tuple[str, str | None]:
    """``convert(value)`` (``repr`` or ``str`` of the learner's object) on one line, and the name of
    the exception it raised (None when it worked; a result that is not a str counts as TypeError).
    One that loops meets the time limit."""
    try:
        text = convert(value)
        if type(text) is not str:
            raise TypeError(f"{convert.__name__}() did not return a str")
    except _TimedOut:
        raise
    except BaseException as exc:  # noqa: BLE001 -- the learner's object: anything can come out
        return "", type(exc).__name__
    return _one_line(text), None


def _safe_repr(value: Any) -> str:
    """``repr(value)`` on one line; a repr that raises is named, a repr that loops meets the limit."""
    text, failed = _safe_text(repr, value)
    return text if failed is None else f"<a {type(value).__name__} object whose repr() raised {failed}>"


def _safe_message(error: BaseException) -> str:
    text, failed = _safe_text(str, error)
    return text if failed is None else f"(its message could not be shown: str() raised {failed})"


def _snapshot(value: Any, depth: int = 0) -> Any:
    """The learner's answer as the checker's own plain data, taken while the time limit still runs.

    Ints, floats, strings, lists, tuples, NumPy arrays and tensors are copied into their base
    types; anything else becomes an ``_Opaque`` (its type name and repr), so nothing the learner
    defined (a ``__repr__``, ``__int__`` or ``__eq__``) runs once the limit is off.
    """
    kind = type(value)
    if value is None or kind in (bool, int, float, complex, str, bytes, range):
        return value
    if depth > 50:
        return _Opaque(kind.__name__, "<nested too deeply>")
    if kind in (list, tuple):
        return kind(_snapshot(item, depth + 1) for item in value)
    if kind is np.ndarray or isinstance(value, np.ndarray):
        array = np.array(value, copy=True, subok=False)
        return array if array.dtype.kind != "O" else _Opaque(kind.__name__, _safe_repr(value))
    if isinstance(value, np.generic) and kind.__module__ == "numpy":
        return value
    if kind is _Verdict:
        problem, described = value.problem, value.described
        if type(problem) is not str or not (described is None or type(described) is str):
            return _Opaque(kind.__name__, "<a forged verdict>")
        return _Verdict(_snapshot(value.answer, depth + 1), problem, described=described)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return torch.Tensor.clone(torch.Tensor.detach(value)).as_subclass(torch.Tensor)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    text = _safe_repr(value)
    if isinstance(value, Iterator):
        return _OpaqueIterator(kind.__name__, text)
    if isinstance(value, Set | Mapping):
        return _OpaqueCollection(kind.__name__, text)
    return _Opaque(kind.__name__, text)


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
        return False, "returned None: it returns nothing yet (a missing return?)"  # never the answer on Run All
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
    """("value", snapshot) or ("raised" | "exit" | "timeout" | "slow", detail): never lets the learner's error out.

    The call, and the snapshot of what it returned (or the text of what it raised), run under the
    time limit; a call that Python could not interrupt (one long C call) is reported as too slow
    as soon as it returns.
    """

    def call() -> tuple[str, Any]:
        try:
            value = learner(*args, **kwargs)
        except _TimedOut:
            raise
        except SystemExit as stop:
            return "exit", _safe_repr(stop.code)
        except BaseException as exc:  # noqa: BLE001 -- KeyboardInterrupt and learner-made classes too
            return "raised", (type(exc).__name__, _safe_message(exc), exc if isinstance(exc, Exception) else None)
        return "value", _snapshot(value)

    started = time.monotonic()
    try:
        status, detail = _call_with_limit(call, (), {}, _limit())
    except _TimedOut as stop:
        return "timeout", bool(stop.args)
    took = time.monotonic() - started
    if took > _limit() + 1.0:
        return "slow", took
    return status, detail


def _problem(call: str, status: str, detail: Any) -> str:
    """The verdict for a call that did not return a value."""
    limit = _limit()
    if status == "timeout" and detail:  # a helper thread: Python cannot stop it, only a kernel restart
        return f"{FAIL}: {call} did not return within {limit:g} s (an endless loop?); restart the kernel to stop it"
    if status == "timeout":
        return f"{FAIL}: {call} was stopped after {limit:g} s without returning (an endless loop?)"
    if status == "slow":
        return (
            f"{FAIL}: {call} took {detail:.0f} s, over the {limit:g} s limit (one long computation that Python "
            "could not interrupt)"
        )
    if status == "exit":
        return f"{FAIL}: {call} called sys.exit({detail}); return the answer instead of stopping Python"
    name, message, _ = detail
    return f"{FAIL}: {call} raised {name}" + (f": {message}" if message else "")


def _inside_a_check() -> bool:
    """Is a ``check_cases`` running further up the stack (the caller's caller and above)?"""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is _CHECK_CASES_CODE:
            return True
        frame = frame.f_back
    return False


def _hint_for(got: Any, hints: Iterable[tuple[str, Callable[..., Any]]], args: tuple, kwargs: dict, atol: float) -> str:
    """The typical mistake the answer matches on this case ("" if none): each hint is (what, wrong function)."""
    for what, wrong in hints:
        try:
            mistaken = wrong(*copy.deepcopy(args), **copy.deepcopy(kwargs))
            if mistaken is not None and _same(got, mistaken, atol)[0]:
                return what
        except Exception:  # noqa: BLE001, S112 -- a hint that does not apply to this case
            continue
    return ""


def _hidden(why: str, expected: Any) -> str:
    """``why`` without the expected value, where expected values are not to be shown (grading)."""
    if _MODULE.REVEAL_EXPECTED or isinstance(expected, _Verdict):
        return why
    why = why.replace(f", expected {expected!r}: the right value", ": the right value")
    if isinstance(expected, np.ndarray):  # the shape of an array answer is half of the answer
        why = why.replace(f", expected {expected.shape}", ", not the expected shape")
        why = why.replace(f"an array of shape {expected.shape}", "an array")
    return why.replace(f", expected {expected!r}", ", not the expected value").replace(
        f" expected {expected!r}", " not the expected value"
    )


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


def _check_hints(hints: Any) -> list[tuple[str, Callable[..., Any]]]:
    if isinstance(hints, str | bytes | Mapping) or not isinstance(hints, Iterable):
        raise TypeError(f"hints must be a list of (description, function) pairs, got {hints!r}")
    checked = list(hints)
    for index, hint in enumerate(checked):
        if not (isinstance(hint, tuple) and len(hint) == 2 and isinstance(hint[0], str) and callable(hint[1])):
            raise TypeError(f"hints[{index}] must be a (description, function) pair, got {hint!r}")
    return checked


def check_cases(
    name: str,
    learner: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Iterable[tuple[tuple, dict]],
    *,
    atol: float = 1e-6,
    expect_errors: Iterable[tuple[tuple, dict, type[Exception]]] = (),
    hints: Iterable[tuple[str, Callable[..., Any]]] = (),
) -> bool:
    """Run ``learner`` and ``reference`` on every case; print one verdict line; return whether all pass.

    The ``check_*`` functions of the chapters wrap this and return None, so a notebook cell shows
    the verdict line only. Whatever the learner's function does, the verdict is one line: a call
    that raises (any exception, ``BaseException`` subclasses too), calls ``sys.exit`` or runs
    longer than ``TIME_LIMIT`` seconds is reported, as is an answer of the wrong kind (a float
    where an int is asked, a string for a list, True for 1). ``hints`` pairs a typical mistake
    with a function that makes it; a wrong answer that equals one is told which mistake it looks like.

    The cases are frozen (pickled) before the learner's function first runs. Each call gets its
    own copy; the reference runs after the call, on another fresh copy, so the expected value sits
    in no frame the learner's call can reach and nothing the call changes in place reaches it.
    A checker called from inside the function it checks refuses (it would print a verdict of its own).
    """
    check_str("name", name, allow_empty=False)
    check_callable("reference", reference)
    atol = check_float("atol", atol, 0.0)
    cases = _check_case_list(cases, "cases", 2)
    error_cases = _check_case_list(expect_errors, "expect_errors", 3)
    hints = _check_hints(hints)
    if not cases and not error_cases:
        raise ValueError(f"cases must not be empty when expect_errors is empty, got {cases!r}")
    if _inside_a_check():
        raise RuntimeError("a checker cannot run inside the function it checks: return the answer instead")
    if not callable(learner):
        print(f"{FAIL}: expected a function for {name}, got {type(learner).__name__}")
        return False
    try:
        frozen = pickle.dumps(cases)  # bytes: the learner can read them, not change them

        def thawed(index: int) -> tuple[tuple, dict]:
            return pickle.loads(frozen)[index]  # noqa: S301 -- our own bytes
    except Exception:  # noqa: BLE001 -- cases that cannot be pickled (a lambda): deep copies instead
        pristine = copy.deepcopy(cases)

        def thawed(index: int) -> tuple[tuple, dict]:
            return copy.deepcopy(pristine[index])

    total = len(cases) + len(error_cases)
    for index in range(len(cases)):
        args, kwargs = thawed(index)
        call = _call_repr(name, args, kwargs)
        status, got = _run_learner(learner, args, kwargs)
        if status != "value":
            print(_problem(call, status, got))
            return False
        args, kwargs = thawed(index)
        expected = reference(*args, **kwargs)
        try:
            ok, why = _same(got, expected, atol)
        except Exception as exc:  # an answer so odd that comparing it fails: still one line
            ok, why = False, f"returned {_shown(got)}, which cannot be compared with {expected!r} ({exc})"
        if not ok:
            why = _hidden(why, expected)
            hint = _hint_for(got, hints, *thawed(index), atol) if hints else ""
            print(f"{FAIL}: {call} {_one_line(why + (f'; {hint}' if hint else ''), 2 * _MAX_SHOWN)}")
            return False
    for args, kwargs, error in error_cases:
        call = _call_repr(name, args, kwargs)
        status, got = _run_learner(learner, copy.deepcopy(args), copy.deepcopy(kwargs))
        if status == "raised" and got[2] is not None and isinstance(got[2], error):
            continue
        if status == "raised":
            print(f"{FAIL}: {call} should raise {error.__name__}, raised {got[0]}")
        elif status == "value":
            print(f"{FAIL}: {call} should raise {error.__name__}, returned {_shown(got)}")
        else:
            print(_problem(call, status, got))
        return False
    print(f"{PASS}: all {total} hidden cases of {name} agree with the reference.")
    return True


_CHECK_CASES_CODE = check_cases.__code__


def _rng() -> np.random.Generator:
    return np.random.default_rng(2024)


# Chapter 1 ------------------------------------------------------------------------------------


def check_effective_kernel_size(learner: Callable[[int, int], int]) -> None:
    """Exercise: ``effective_kernel_size(k, d)``, the span of a k-tap kernel at dilation d."""
    cases = [((k, d), {}) for k in (1, 2, 3, 5, 7) for d in (1, 2, 3, 6)]
    hints = [
        ("it looks like K * d: a kernel of K taps has K - 1 gaps, and each gap is d wide", lambda k, d: k * d),
        ("it looks like off by one: the gaps are counted, the first tap is not", lambda k, d: (k - 1) * d),
        ("it looks like the dilation is forgotten", lambda k, d: k),
        ("it looks like d - 1 zeros were added once, not in every gap", lambda k, d: k + d - 1),
    ]
    check_cases("effective_kernel_size", learner, effective_kernel_size, cases, hints=hints)


def check_conv_output_size(learner: Callable[..., int]) -> None:
    """Exercise: ``conv_output_size(n, k, stride, padding, dilation)`` with symmetric int padding."""
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
    hints = [
        (
            "it looks like the dilation is forgotten: the kernel spans d(K - 1) + 1 samples, not K",
            lambda n, k, s, p, d: (n + 2 * p - k) // s + 1,
        ),
        (
            "it looks like the padding is counted on one side only",
            lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1,
        ),
        (
            "it looks like off by one: the first output position is not counted",
            lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s,
        ),
        ("it looks like a span of d * K, not d(K - 1) + 1", lambda n, k, s, p, d: (n + 2 * p - d * k) // s + 1),
    ]
    check_cases("conv_output_size", learner, conv_output_size, cases, hints=hints)


def check_dilate_kernel_1d(learner: Callable[[np.ndarray, int], np.ndarray]) -> None:
    """Exercise: insert d - 1 zeros between the taps of a 1D kernel."""
    rng = _rng()
    cases = [((rng.integers(-9, 10, size=k).astype(float), d), {}) for k in (1, 2, 3, 4) for d in (1, 2, 3)]
    hints = [
        (
            "it looks like each tap is repeated d times: put zeros between the taps instead",
            lambda w, d: np.repeat(w, d),
        ),
        ("it looks like d zeros between the taps: d - 1 make a spacing of d", lambda w, d: dilate_kernel(w, d + 1)),
        (
            "it looks like zeros after the last tap too: the kernel ends on a tap",
            lambda w, d: np.concatenate([dilate_kernel(w, d), np.zeros(d - 1)]),
        ),
    ]
    check_cases("dilate_kernel_1d", learner, dilate_kernel, cases, hints=hints)


# Chapter 2 ------------------------------------------------------------------------------------


def _conv1d_valid(x: np.ndarray, w: np.ndarray, d: int) -> np.ndarray:
    return conv1d(x, w, dilation=d)


def check_dilated_conv1d(learner: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> None:
    """Exercise: single-channel dilated cross-correlation, no padding, stride 1."""
    rng = _rng()
    cases = []
    for length, k, d in [(10, 3, 1), (10, 3, 2), (12, 2, 5), (9, 1, 3), (16, 4, 3), (7, 3, 3), (20, 5, 2)]:
        signal = rng.integers(-5, 6, size=length).astype(float)
        cases.append(((signal, rng.integers(-3, 4, size=k).astype(float), d), {}))
    hints = [
        (
            "it looks like the kernel is flipped (a true convolution); frameworks do not flip it",
            lambda x, w, d: _conv1d_valid(x, w[::-1].copy(), d),
        ),
        ("it looks like the dilation is forgotten", lambda x, w, d: _conv1d_valid(x, w, 1)),
    ]
    check_cases("dilated_conv1d", learner, _conv1d_valid, cases, hints=hints)


def _same_padding(k: int, d: int) -> tuple[int, int]:
    total = (k - 1) * d
    return (total // 2, total - total // 2)


def check_same_padding(learner: Callable[[int, int], tuple[int, int]]) -> None:
    """Exercise: PyTorch's (before, after) split of 'same' padding for k taps at dilation d."""
    cases = [((k, d), {}) for k in (1, 2, 3, 4, 5) for d in (1, 2, 3)]
    hints = [
        ("it looks like the dilation is dropped: the span to pad is d(K - 1)", lambda k, d: _same_padding(k, 1)),
        (
            "it looks like the two sides are swapped: PyTorch puts the smaller half before",
            lambda k, d: _same_padding(k, d)[::-1],
        ),
        (
            "it looks like both sides get the smaller half: together they must make d(K - 1)",
            lambda k, d: (_same_padding(k, d)[0],) * 2,
        ),
    ]
    check_cases("same_padding", learner, _same_padding, cases, hints=hints)


def _tap_positions(i: int, k: int, d: int, s: int) -> tuple[int, ...]:
    return tuple(i * s + j * d for j in range(k))


def check_tap_positions(learner: Callable[[int, int, int, int], Iterable[int]]) -> None:
    """Exercise: the padded-input indices that output i reads (k taps, dilation d, stride s)."""
    cases = [((i, k, d, s), {}) for i in (0, 1, 5) for k in (1, 3) for d in (1, 2, 4) for s in (1, 2)]
    hints = [
        (
            "it looks like the stride is forgotten: output i starts at i * s",
            lambda i, k, d, s: _tap_positions(i, k, d, 1),
        ),
        ("it looks like the dilation is forgotten", lambda i, k, d, s: _tap_positions(i, k, 1, s)),
        ("it looks like the stride and the dilation are swapped", lambda i, k, d, s: _tap_positions(i, k, s, d)),
    ]
    check_cases("tap_positions", learner, _tap_positions, cases, hints=hints)


# Chapters 4 and 5 -----------------------------------------------------------------------------

_SCHEDULES = [(1,), (2,), (1, 1), (2, 2), (1, 2), (1, 2, 4), (2, 2, 2), (1, 1, 2, 3), (2, 3, 2, 3), (1, 3, 9),
              (1, 2, 9), (2, 3, 5), (1, 3, 1), (3, 1), (4, 2, 1), (1, 2, 5, 9), (5, 5)]  # fmt: skip


def _path_counts_list(dilations: tuple[int, ...]) -> list[int]:
    return path_counts(dilations).tolist()


def check_path_counts(learner: Callable[[tuple[int, ...]], Iterable[int]]) -> None:
    """Exercise: 1D path counts of a stack of 3-tap all-ones kernels (offsets -R..R)."""
    cases = [((rates,), {}) for rates in _SCHEDULES]
    hints = [
        (
            "it looks like the dilation is forgotten: a layer of rate d adds counts at -d, 0 and +d",
            lambda rates: _path_counts_list(tuple(1 for _ in rates)),
        )
    ]
    check_cases("path_counts", learner, _path_counts_list, cases, hints=hints)


def _centre_to_max(dilations: tuple[int, ...]) -> float:
    return describe(dilations).centre_to_max


def check_centre_to_max(learner: Callable[[tuple[int, ...]], float]) -> None:
    """Exercise: 2D centre paths / largest paths, for 3x3 all-ones kernels."""
    cases = [((rates,), {}) for rates in _SCHEDULES]
    hints = [
        (
            "it looks like the 1D ratio: 3x3 path counts are products of two 1D counts",
            lambda r: _centre_to_max(r) ** 0.5,
        ),
        ("it looks like the ratio upside down (max / centre)", lambda r: 1 / _centre_to_max(r)),
    ]
    check_cases("centre_to_max", learner, _centre_to_max, cases, atol=1e-9, hints=hints)


def _has_holes(dilations: tuple[int, ...]) -> bool:
    return has_gridding(dilations)


def check_has_holes(learner: Callable[[tuple[int, ...]], bool]) -> None:
    """Exercise: does a stack of 3x3 layers leave holes inside its receptive field? (exact)"""
    cases = [((rates,), {}) for rates in _SCHEDULES]
    hints = [("it looks like the answer is inverted: True means there are holes", lambda r: not _has_holes(r))]
    check_cases("has_holes", learner, _has_holes, cases, hints=hints)


def _fibonacci(n: int) -> list[int]:
    return fibonacci(n)


def check_fibonacci(learner: Callable[[int], Iterable[int]]) -> None:
    """Exercise: the first n Fibonacci dilation rates, starting 1, 1."""
    hints = [
        ("it looks like the sequence starts 1, 2: the rates start 1, 1", lambda n: _fibonacci(n + 1)[1:]),
        ("it looks like the sequence starts at 0: a rate is at least 1", lambda n: [0, *_fibonacci(n)][:n]),
        ("it looks like off by one: one rate too many", lambda n: _fibonacci(n + 1)),
        ("it looks like off by one: one rate too few", lambda n: _fibonacci(n - 1) if n > 1 else None),
    ]
    check_cases("fibonacci", learner, _fibonacci, [((n,), {}) for n in range(1, 13)], hints=hints)


def _fastest(n: int) -> list[int]:
    return fastest_hole_free(n)


def check_fastest_hole_free(learner: Callable[[int], Iterable[int]]) -> None:
    """Exercise: n rates for 3x3 kernels, no holes, largest receptive field."""
    hints = [
        (
            "it looks like powers of 2: hole-free, but each rate may grow as large as the receptive field so far",
            lambda n: [2**i for i in range(n)],
        ),
        (
            "it looks like each rate is one too large (R + 1): that leaves holes",
            lambda n: [1] + [r + 1 for r in _fastest(n)[1:]],
        ),
    ]
    check_cases("fastest_hole_free", learner, _fastest, [((n,), {}) for n in range(1, 9)], hints=hints)


# Chapter 3 ------------------------------------------------------------------------------------


def _to_keras(w: np.ndarray) -> np.ndarray:
    return torch_to_keras_kernel(w)


def check_torch_to_keras_kernel(learner: Callable[[np.ndarray], np.ndarray]) -> None:
    """Exercise: convert a PyTorch OIHW kernel to Keras' HWIO layout."""
    rng = _rng()
    shapes = [(1, 1, 2, 2), (4, 3, 3, 3), (2, 5, 1, 3), (3, 2, 2, 5), (8, 1, 3, 3)]
    cases = [((rng.integers(-9, 10, size=shape).astype(float),), {}) for shape in shapes]
    hints = [
        (
            "it looks like reshape: it relabels the axes without moving a single value; use np.transpose",
            lambda w: np.reshape(w, (w.shape[2], w.shape[3], w.shape[1], w.shape[0])),
        ),
        (
            "it looks like the output and input axes are swapped: Keras wants (H, W, in, out)",
            lambda w: np.transpose(w, (2, 3, 0, 1)),
        ),
        ("it looks like every axis is reversed: H and W are swapped too", lambda w: np.transpose(w, (3, 2, 1, 0))),
    ]
    check_cases("to_keras", learner, _to_keras, cases, hints=hints)


def _tf_same(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    return tf_same_padding(n, k, s, d)


def check_tf_same_padding(learner: Callable[[int, int, int, int], tuple[int, int]]) -> None:
    """Exercise: TensorFlow's (before, after) padding for 'same' at any stride."""
    cases = [((n, k, s, d), {}) for n in (7, 8, 9, 16) for k in (1, 2, 3) for s in (1, 2, 3) for d in (1, 2)]
    hints = [
        (
            "it looks like the dilation is dropped: the kernel spans d(K - 1) + 1 samples",
            lambda n, k, s, d: _tf_same(n, k, s, 1),
        ),
        (
            "it looks like the stride is ignored: TensorFlow pads so that ceil(n / s) outputs fit",
            lambda n, k, s, d: _same_padding(k, d),
        ),
        (
            "it looks like the sides are swapped: TensorFlow puts the odd pixel after",
            lambda n, k, s, d: _tf_same(n, k, s, d)[::-1],
        ),
    ]
    check_cases("tf_same", learner, _tf_same, cases, hints=hints)


# Chapter 6 ------------------------------------------------------------------------------------


def _wavenet_rf(n_layers: int, n_stacks: int, kernel_size: int) -> int:
    return receptive_field([(kernel_size, 1, 2**i) for _ in range(n_stacks) for i in range(n_layers)]).size


def check_wavenet_receptive_field(learner: Callable[[int, int, int], int]) -> None:
    """Exercise: receptive field of a WaveNet (dilations 1..2^(n-1), repeated per stack)."""
    cases = [((n, s, k), {}) for n in (1, 3, 10) for s in (1, 2, 3) for k in (2, 3)]
    hints = [
        (
            "it looks like the kernel size is forgotten: a layer of rate d adds (K - 1) * d",
            lambda n, s, k: 1 + s * (2**n - 1),
        ),
        ("it looks like off by one: the output's own sample counts (+ 1)", lambda n, s, k: _wavenet_rf(n, s, k) - 1),
        (
            "it looks like the rates 1..2^(n-1) were summed to 2^n; they make 2^n - 1",
            lambda n, s, k: 1 + s * (k - 1) * 2**n,
        ),
        ("it looks like the stacks are forgotten", lambda n, s, k: _wavenet_rf(n, 1, k)),
    ]
    check_cases("wavenet_receptive_field", learner, _wavenet_rf, cases, hints=hints)


def _min_layers(delay: int, kernel_size: int = 2) -> int:
    n = 1
    while _wavenet_rf(n, 1, kernel_size) < delay + 1:
        n += 1
    return n


def check_min_layers_for_delay(learner: Callable[[int], int]) -> None:
    """Exercise: fewest WaveNet layers (kernel 2, one stack) whose output can see x[t - delay]."""
    delays = (0, 1, 2, 3, 7, 8, 15, 16, 20, 100, 1023)
    hints = [
        (
            "it looks like off by one: to see x[t - h] the receptive field must be h + 1 samples",
            lambda h: max(1, _min_layers(h - 1)) if h > 0 else None,
        ),
        ("it looks like one layer too many", lambda h: _min_layers(h) + 1),
    ]
    check_cases("min_layers_for_delay", learner, _min_layers, [((h,), {}) for h in delays], hints=hints)


def _valid_taps(size: int, rate: int) -> float:
    return valid_tap_fraction(size, rate)


def check_valid_tap_fraction(learner: Callable[[int, int], float]) -> None:
    """Exercise: mean fraction of a 3x3 atrous kernel's taps inside a size x size map."""
    cases = [((n, r), {}) for n in (1, 5, 17, 33) for r in (1, 2, 6, 12, 18, 40)]
    hints = [
        (
            "it looks like the 1D fraction: a 3x3 kernel's taps are rows times columns",
            lambda n, r: _valid_taps(n, r) ** 0.5,
        )
    ]
    check_cases("valid_tap_fraction", learner, _valid_taps, cases, atol=1e-9, hints=hints)


# Chapter 7 ------------------------------------------------------------------------------------
# Design exercises have many right answers. Their checkers judge the learner's answer against the
# rules of the exercise and pass ``check_cases`` a ``_Verdict``: equal to the reference's verdict
# exactly when the answer meets every rule, and printed with the reason when it does not.


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
            return _Verdict(rates, described="rates that meet all the rules")  # never an answer to copy
    raise ValueError(f"no three rates suit image_size={image_size}, output_stride={output_stride}")


def check_aspp_rates(learner: Callable[[int, int], Any]) -> None:
    """Exercise: choose three ASPP rates for an image size and output stride (rules in ``_aspp_rate_problem``)."""
    cases = [((s, os), {}) for s, os in [(513, 16), (513, 8), (321, 16), (321, 8), (769, 16), (257, 8), (1025, 32)]]
    if not callable(learner):  # the NOT YET verdict for a non-function, not a TypeError from judged
        check_cases("choose_aspp_rates", learner, _aspp_reference, cases)
        return

    def judged(image_size: int, output_stride: int) -> _Verdict:
        rates = _snapshot(learner(image_size, output_stride))
        return _Verdict(rates, _aspp_rate_problem(rates, image_size, output_stride))

    check_cases("choose_aspp_rates", judged, _aspp_reference, cases)


def _schedule_problem(rates: Any, min_field: int, min_ratio: float, max_rate: int, layers: int = 5) -> str:
    """Why a dilation schedule of 3x3 layers misses a design brief ("" if it meets it).

    Brief: ``layers`` integer rates in ``1..max_rate``; no holes (exact path counts, chapter 4);
    receptive field ``R = 1 + 2 sum(d) >= min_field``; 2D centre/max path-count ratio
    (``receptive_field.describe``) ``>= min_ratio``.
    """
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
        rates = _snapshot(learner(min_field, min_ratio, max_rate))
        return _Verdict(rates, _schedule_problem(rates, min_field, min_ratio, max_rate))

    check_cases("design_schedule", judged, _schedule_reference, cases)


def _causal_conv_reference(x: Any, weight: Any, bias: Any, dilation: int) -> Any:
    """``y[t] = b + sum_k w[k] x[t - (K - 1 - k) d]``: ``d (K - 1)`` zeros on the left, none on the right."""
    import torch.nn.functional as F

    return F.conv1d(F.pad(x, ((weight.shape[-1] - 1) * dilation, 0)), weight, bias, dilation=dilation)


def _causal_leaks(call: Callable[[Any], Any], x: Any) -> tuple[int, int]:
    """(outputs that change when a later input changes, outputs that ignore their own input), by perturbation.

    Each input step ``j`` in turn is changed by 1 (a fresh copy of ``x`` every call); ``y[t]`` for
    ``t < j`` must not move (causal) and ``y[j]`` must (it sees the present). Works on any function,
    with or without autograd, and never on the learner's own copy of the data.
    """
    import torch

    base = call(x.clone())
    future = blind = 0
    for j in range(x.shape[-1]):
        nudged = x.clone()
        nudged[..., j] += 1.0
        moved = (torch.as_tensor(call(nudged)) - base).abs().sum(dim=tuple(range(base.dim() - 1))) > 1e-9
        future += int(moved[:j].sum())
        blind += int(not moved[j])
    return future, blind


def _causal_problem(learner: Callable[..., Any], got: Any, x: Any, weight: Any, bias: Any, dilation: int) -> str:
    """Why the learner's output is not the causal convolution of ``x`` ("" if it is); the arguments are pristine."""
    import torch

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

    def again(z: Any) -> Any:
        out = _snapshot(learner(z, weight.clone(), bias.clone(), dilation))
        if not isinstance(out, torch.Tensor) or out.shape != expected.shape:
            raise ValueError("not comparable")
        return out.detach().to(torch.float64)

    try:
        future, blind = _causal_leaks(again, x)
    except Exception:  # noqa: BLE001 -- the answer changed its mind between calls: judge the values only
        future = blind = 0
    if future:
        return f"{future} outputs y[t] change when a later input changes: it reads the future"
    if blind:
        return f"{blind} outputs ignore x[t] itself: it is causal but shifted too far into the past"
    gap = float((got.detach().to(expected.dtype) - expected).abs().max())
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
        pristine = [torch.from_numpy(a.copy()) for a in (x, weight, bias)]  # the learner never sees these
        x, weight, bias = (torch.from_numpy(a) for a in (x, weight, bias))  # arrays print short in the verdict
        got = _snapshot(learner(x, weight, bias, dilation))
        problem = _causal_problem(learner, got, *pristine, dilation)
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
        check_cases("dilated_conv1d_loop", learner, _conv1d_valid, cases)
        return
    last: dict[str, Any] = {}

    def recorded(x: np.ndarray, w: np.ndarray, d: int) -> Any:
        last.clear()
        last["args"] = (x.copy(), w.copy(), d)
        last["result"] = result = _snapshot(learner(x, w, d))  # judged below, after the time limit
        return result

    if check_cases("dilated_conv1d_loop", recorded, _conv1d_valid, cases) or "result" not in last:
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


def _freeze_module_state() -> None:
    """Give every function (and method) of this module a private copy of the module's globals.

    A learner who replaces ``exercises._same`` or ``exercises._aspp_rate_problem`` in a notebook
    changes the module's namespace, which the checkers no longer read: they keep the helpers they
    were defined with, and NumPy's functions as they were when this module was imported. The
    settings ``TIME_LIMIT``, ``USE_SIGNALS`` and ``REVEAL_EXPECTED`` are still read from the module
    at each call (a notebook may change them; none can forge a pass).
    """
    shared = globals()
    private = dict(shared)
    numpy_as_imported = types.ModuleType("numpy")  # np.allclose = lambda *a, **k: True in a notebook: not read
    numpy_as_imported.__dict__.update(vars(np))
    private["np"] = numpy_as_imported

    def rebind(function: types.FunctionType) -> types.FunctionType:
        copy_ = types.FunctionType(
            function.__code__, private, function.__name__, function.__defaults__, function.__closure__
        )
        copy_.__kwdefaults__ = function.__kwdefaults__
        copy_.__dict__.update(function.__dict__)
        copy_.__doc__, copy_.__qualname__ = function.__doc__, function.__qualname__
        copy_.__annotations__, copy_.__module__ = function.__annotations__, function.__module__
        return copy_

    for name, value in list(shared.items()):
        if isinstance(value, types.FunctionType) and value.__globals__ is shared:
            private[name] = shared[name] = rebind(value)
        elif isinstance(value, type) and value.__module__ == __name__:
            for attribute, member in list(vars(value).items()):
                if isinstance(member, types.FunctionType) and member.__globals__ is shared:
                    setattr(value, attribute, rebind(member))


_freeze_module_state()
