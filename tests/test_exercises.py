"""The exercise checkers: every checker passes right answers, refuses wrong ones, and survives bad code.

For each checker the table CHECKERS holds the worked solution of its chapter, other reasonable
spellings of a right answer (a NumPy array for a list, float32 for float64, a tuple for a list),
and plausible mistakes. Every checker also meets the same bad learner functions: one that never
returns, raises, calls sys.exit, or returns None, a string, a ragged list, a 2D array, True or an
object equal to everything. Each must get a one-line verdict, never a traceback or a pass.
"""

from __future__ import annotations

import itertools
import math
import re
import sys
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import as_strided

from course_utils import exercises
from course_utils import receptive_field as rf


def _dilate(w, d):
    out = np.zeros((len(w) - 1) * d + 1)
    out[::d] = w
    return out


def _dilated_conv1d(x, w, d):
    span = (len(w) - 1) * d + 1
    windows = as_strided(x, shape=(len(x) - span + 1, len(w)), strides=(x.itemsize, d * x.itemsize))
    return windows @ w


def _path_counts(dilations):
    counts = np.array([1])
    for d in dilations:
        grown = np.zeros(len(counts) + 2 * d, dtype=int)
        for t in range(3):
            grown[t * d : t * d + len(counts)] += counts
        counts = grown
    return counts.tolist()


def _centre_to_max(dilations):
    counts = np.array(_path_counts(dilations))
    return (counts[len(counts) // 2] / counts.max()) ** 2


def _fibonacci(n):
    rates = [1, 1][:n]
    while len(rates) < n:
        rates.append(rates[-1] + rates[-2])
    return rates


def _fastest(n):
    rates, radius = [], 0
    for _ in range(n):
        rates.append(2 * radius + 1)
        radius += rates[-1]
    return rates


def _tf_same(n, k, s, d):
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return (total // 2, total - total // 2)


def _min_layers(h):
    n = 1
    while 2**n < h + 1:
        n += 1
    return n


def _valid_taps(size, rate):
    rows = np.arange(size)[:, None] + np.array([-rate, 0, rate])[None, :]
    per_row = ((rows >= 0) & (rows < size)).sum(axis=1)
    return (per_row.mean() / 3) ** 2


def _fibonacci_off_by_one(n):
    return _fibonacci(n + 1)[1:]


def _find_the_bug_repaired(x, w, d):  # the exercise's loop, reading x[i + k*d]
    y = np.zeros(len(x) - (len(w) - 1) * d)
    for i in range(len(y)):
        for k in range(len(w)):
            y[i] += w[k] * x[i + k * d]
    return y


def _find_the_bug_wrapped(x, w, d):  # the loop as given: x[i - k*d] wraps around to the end
    y = np.zeros(len(x) - (len(w) - 1) * d)
    for i in range(len(y)):
        for k in range(len(w)):
            y[i] += w[k] * x[i - k * d]
    return y


def _aspp_rates(image_size, output_stride):  # chapter 7's worked solution
    largest = max(3, math.ceil((0.75 * image_size - 1) / (2 * output_stride)))  # spans 3/4 of the image
    middle = int(largest / 1.5)
    return (int(middle / 1.5), middle, largest)


def _aspp_rates_by_brute_force(image_size, output_stride):
    """Another right answer: the three smallest rates (by the largest) that meet every rule, by search."""
    n = (image_size - 1) // output_stride + 1
    for rates in itertools.combinations(range(1, n + 1), 3):
        a, b, c = rates
        spans = 2 * c * output_stride + 1 >= 0.75 * image_size
        apart = b >= 1.5 * a and c >= 1.5 * b
        if spans and apart and all(9 * rf.valid_tap_fraction(n, r) >= 3 for r in rates):
            return list(rates)
    return None


def _schedule(min_field, min_ratio, max_rate):  # chapter 7's worked solution: a search over sorted rates
    for rates in itertools.combinations_with_replacement(range(1, max_rate + 1), 5):
        report = rf.describe(rates)
        if report.holes_2d == 0 and report.size >= min_field and report.centre_to_max >= min_ratio:
            return rates
    return None


def _schedule_ignoring_ratio(min_field, min_ratio, max_rate):
    return _schedule(min_field, 0.0, max_rate)


def _causal(x, w, b, d):
    return F.conv1d(F.pad(x, ((w.shape[-1] - 1) * d, 0)), w, b, dilation=d)


def _causal_by_taps(x, w, b, d):  # y[t] = b + sum_k w[k] x[t - (K - 1 - k) d], by shifting x
    k = w.shape[-1]
    y = b[None, :, None].expand(x.shape[0], -1, x.shape[-1]).clone()
    for j in range(k):
        shift = (k - 1 - j) * d
        shifted = F.pad(x, (shift, 0))[..., : x.shape[-1]]
        y = y + torch.einsum("oc,nct->not", w[:, :, j], shifted)
    return y


def _same_padded(x, w, b, d):  # 'same' padding: half the span on each side
    span = (w.shape[-1] - 1) * d
    return F.conv1d(F.pad(x, (span // 2, span - span // 2)), w, b, dilation=d)


def _one_step_late(x, w, b, d):  # one zero too many on the left, the last sample dropped
    span = (w.shape[-1] - 1) * d
    return F.conv1d(F.pad(x, (span + 1, 0)), w, b, dilation=d)[..., :-1]


# checker name -> (hidden cases, right answers, plausible wrong answers)
CHECKERS = {
    "effective_kernel_size": (
        20,
        [lambda k, d: (k - 1) * d + 1, lambda k, d: np.int64((k - 1) * d + 1)],
        [lambda k, d: k * d, lambda k, d: (k - 1) * d, lambda k, d: k + d - 1, lambda k, d: float((k - 1) * d + 1)],
    ),
    "conv_output_size": (
        30,
        [
            lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s + 1,
            lambda n, k, s, p, d: np.int64((n + 2 * p - d * (k - 1) - 1) // s + 1),
            lambda n, k, s, p, d: math.ceil((n + 2 * p - d * (k - 1)) / s),  # ceil(a / s) = floor((a - 1) / s) + 1
        ],
        [
            lambda n, k, s, p, d: (n + 2 * p - k) // s + 1,  # forgot the dilation
            lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) / s + 1,  # / where // belongs
            lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1,  # padding on one side only
            lambda n, k, s, p, d: (n + 2 * p - d * k) // s + 1,  # span d * k instead of d (k - 1) + 1
        ],
    ),
    "dilate_kernel_1d": (
        12,
        [_dilate, lambda w, d: _dilate(w, d).astype(np.float32), lambda w, d: _dilate(w, d).tolist()],
        [
            lambda w, d: np.repeat(w, d),
            lambda w, d: _dilate(np.append(w, 0), d),  # one zero too many at the end
            lambda w, d: np.ravel(np.column_stack([w] + [np.zeros_like(w)] * d)),  # d zeros, not d - 1
        ],
    ),
    "dilated_conv1d": (
        7,
        [_dilated_conv1d, lambda x, w, d: _dilated_conv1d(x, w, d).astype(np.float32)],
        [
            lambda x, w, d: _dilated_conv1d(x, w[::-1].copy(), d),  # a true convolution: flipped
            lambda x, w, d: _dilated_conv1d(x, w, 1),  # dilation ignored
            lambda x, w, d: np.convolve(x, _dilate(w, d)[::-1], mode="same"),  # 'same' length
        ],
    ),
    "same_padding": (
        15,
        [
            lambda k, d: ((k - 1) * d // 2, (k - 1) * d - (k - 1) * d // 2),
            lambda k, d: [(k - 1) * d // 2, (k - 1) * d - (k - 1) * d // 2],
            lambda k, d: np.array([(k - 1) * d // 2, (k - 1) * d - (k - 1) * d // 2]),
        ],
        [
            lambda k, d: ((k - 1) * d - (k - 1) * d // 2, (k - 1) * d // 2),  # odd pixel before
            lambda k, d: ((k - 1) * d // 2, (k - 1) * d // 2),  # symmetric
            lambda k, d: ((k - 1) * d / 2, (k - 1) * d / 2),  # halves as floats
            lambda k, d: (k - 1) * d,  # the total only
        ],
    ),
    "tap_positions": (
        36,
        [
            lambda i, k, d, s: [i * s + j * d for j in range(k)],
            lambda i, k, d, s: tuple(i * s + j * d for j in range(k)),
            lambda i, k, d, s: np.arange(k) * d + i * s,
            lambda i, k, d, s: range(i * s, i * s + k * d, d),
        ],
        [
            lambda i, k, d, s: [i + j * d for j in range(k)],  # forgot the stride
            lambda i, k, d, s: [i * s + j for j in range(k)],  # forgot the dilation
            lambda i, k, d, s: [0.9] * k,  # not positions at all
            lambda i, k, d, s: "".join(str(i * s + j * d) for j in range(k)),  # "024"
            lambda i, k, d, s: (i * s + j * d for j in range(k)),  # a generator
            lambda i, k, d, s: [float(i * s + j * d) for j in range(k)],
            lambda i, k, d, s: {i * s + j * d for j in range(k)},  # a set has no order
        ],
    ),
    "path_counts": (
        17,
        [_path_counts, lambda r: np.array(_path_counts(r)), lambda r: tuple(_path_counts(r))],
        [
            lambda r: [int(c > 0) for c in _path_counts(r)],  # reached or not, not how often
            lambda r: np.array(_path_counts(r), dtype=float),  # counts as floats
            lambda r: _path_counts(r)[1:-1],  # one offset short on each side
        ],
    ),
    "centre_to_max": (
        17,
        [_centre_to_max, lambda r: np.float32(_centre_to_max(r)), lambda r: np.array(_centre_to_max(r))],
        [
            lambda r: math.sqrt(_centre_to_max(r)),  # the 1D ratio, not 2D
            lambda r: 1 / _centre_to_max(r),  # max / centre
            lambda r: round(_centre_to_max(r), 2),  # rounded away
            lambda r: str(_centre_to_max(r)),
        ],
    ),
    "has_holes": (
        17,
        [lambda r: 0 in _path_counts(r), lambda r: np.bool_(0 in _path_counts(r))],
        [
            lambda r: False,
            lambda r: len(set(r)) < len(r),  # "a repeated rate grids"
            lambda r: int(0 in _path_counts(r)),  # 1/0 instead of True/False
            lambda r: "yes" if 0 in _path_counts(r) else "",
        ],
    ),
    "fibonacci": (
        12,
        [_fibonacci, lambda n: np.array(_fibonacci(n)), lambda n: tuple(_fibonacci(n))],
        [
            lambda n: [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233][:n],  # starts 1, 2
            _fibonacci_off_by_one,
            lambda n: [1.5] * n,
            lambda n: [float(v) for v in _fibonacci(n)],
        ],
    ),
    "fastest_hole_free": (
        8,
        [_fastest, lambda n: np.array(_fastest(n))],
        [
            lambda n: [2**i for i in range(n)],  # doubling: hole-free but slower
            _fibonacci,
            lambda n: [3**i for i in range(1, n + 1)],  # starts at 3: holes
        ],
    ),
    "torch_to_keras_kernel": (
        5,
        [lambda w: np.transpose(w, (2, 3, 1, 0)), lambda w: np.transpose(w, (2, 3, 1, 0)).astype(np.float32)],
        [
            lambda w: w.reshape(w.shape[2], w.shape[3], w.shape[1], w.shape[0]),  # reshape is not transpose
            lambda w: np.transpose(w, (2, 3, 0, 1)),  # O and I swapped
            lambda w: w,
        ],
    ),
    "tf_same_padding": (
        72,
        [_tf_same, lambda n, k, s, d: list(_tf_same(n, k, s, d))],
        [
            lambda n, k, s, d: (d * (k - 1) // 2, d * (k - 1) // 2),  # symmetric, as for stride 1
            lambda n, k, s, d: (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2),  # ignores the stride
            lambda n, k, s, d: _tf_same(n, k, s, d)[::-1],  # odd pixel before
        ],
    ),
    "wavenet_receptive_field": (
        18,
        [lambda n, s, k: 1 + s * (k - 1) * (2**n - 1)],
        [
            lambda n, s, k: s * 2**n,
            lambda n, s, k: 1 + s * (2**n - 1),  # forgot the kernel size
            lambda n, s, k: s * (k - 1) * 2**n,
            lambda n, s, k: 1.0 + s * (k - 1) * (2**n - 1),
        ],
    ),
    "min_layers_for_delay": (
        11,
        [_min_layers, lambda h: np.int32(_min_layers(h))],
        [
            lambda h: math.ceil(math.log2(h + 2)),  # one layer too many whenever h + 1 is a power of 2
            lambda h: math.ceil(math.log2(h + 1)),  # 0 layers for h = 0
            lambda h: max(1, math.log2(h + 1)),  # a float
            lambda h: h + 1,  # an undilated stack
        ],
    ),
    "find_the_bug_conv1d": (
        8,
        [
            _find_the_bug_repaired,
            _dilated_conv1d,
            lambda x, w, d: _find_the_bug_repaired(x, w, d).astype(np.float32),
            lambda x, w, d: _find_the_bug_repaired(x, w, d).tolist(),
        ],
        [
            _find_the_bug_wrapped,  # the loop as given (its verdict adds where the samples came from)
            lambda x, w, d: _dilated_conv1d(x, w[::-1].copy(), d),  # a true convolution (explained too)
            lambda x, w, d: _find_the_bug_repaired(x, w, d)[:-1],  # one output short
            lambda x, w, d: _dilated_conv1d(x, w, 1)[: len(x) - (len(w) - 1) * d],  # dilation ignored
            lambda x, w, d: np.convolve(x, _dilate(w, d)[::-1], mode="same"),  # 'same' length
        ],
    ),
    "aspp_rates": (
        7,
        [_aspp_rates, _aspp_rates_by_brute_force, lambda s, os: np.array(_aspp_rates(s, os))],
        [
            lambda s, os: (6, 12, 18),  # DeepLabv3's rates for 513 pixels at OS 16, everywhere
            lambda s, os: _aspp_rates(s, 16),  # ignores the output stride
            lambda s, os: _aspp_rates(s, 1),  # rates in image pixels, not feature-map pixels
            lambda s, os: (_aspp_rates(s, os)[2] - 2, _aspp_rates(s, os)[2] - 1, _aspp_rates(s, os)[2]),  # too close
            lambda s, os: tuple(float(r) for r in _aspp_rates(s, os)),
            lambda s, os: _aspp_rates(s, os)[1:],  # two rates
        ],
    ),
    "hole_free_schedule": (
        7,
        [_schedule, lambda f, r, m: list(_schedule(f, r, m)), lambda f, r, m: np.array(_schedule(f, r, m))],
        [
            lambda f, r, m: (1, 3, 9, 27, 81),  # hole-free and centred, but the rates overshoot
            lambda f, r, m: (m,) * 5,  # one large rate repeated: gridding
            lambda f, r, m: (1,) * 5,  # dense: R = 11 only
            _schedule_ignoring_ratio,  # the centre starves on a brief that asks for a ratio
            lambda f, r, m: _schedule(f, r, m)[:4],  # four rates
            lambda f, r, m: tuple(float(v) for v in _schedule(f, r, m)),
        ],
    ),
    "causal_conv": (
        5,
        [_causal, _causal_by_taps, lambda x, w, b, d: _causal(x.float(), w.float(), b.float(), d)],
        [
            _same_padded,  # reads the future
            _one_step_late,  # causal, but y[t] ignores x[t]
            lambda x, w, b, d: F.conv1d(x, w, b, dilation=d),  # no padding: shorter output
            lambda x, w, b, d: _causal(x, w.flip(-1), b, d),  # kernel flipped
            lambda x, w, b, d: _causal(x, w, None, d),  # bias forgotten
            lambda x, w, b, d: _causal(x, w, b, d).numpy(),  # an array, not a tensor
        ],
    ),
    "valid_tap_fraction": (
        24,
        [_valid_taps, lambda n, r: np.float32(_valid_taps(n, r))],
        [
            lambda n, r: ((np.arange(n)[:, None] + np.array([-r, 0, r])) % n >= 0).mean(),  # always 1
            lambda n, r: float(np.sqrt(_valid_taps(n, r))),  # the 1D fraction
            lambda n, r: 1 / 9 if r >= n else 1.0,  # only the two extremes
        ],
    ),
}


def _checker(name):
    return getattr(exercises, f"check_{name}")


# The function name a verdict shows, where the exercise's function is not called like its checker.
CALLED = {
    "torch_to_keras_kernel": "to_keras",
    "tf_same_padding": "tf_same",
    "find_the_bug_conv1d": "dilated_conv1d_loop",
    "aspp_rates": "choose_aspp_rates",
    "hole_free_schedule": "design_schedule",
    "causal_conv": "causal_dilated_conv",
}
# Checkers whose NOT YET line may be followed by indented lines that explain a known mistake.
EXPLAINS = {"find_the_bug_conv1d"}


def _called(name):
    return CALLED.get(name, name)


def _verdict(capsys, checker, learner, *, explained=False):
    assert checker(learner) is None  # a notebook cell shows the printed verdict only
    out, err = capsys.readouterr()
    lines = out.splitlines()
    if explained and len(lines) > 1:  # a NOT YET line, then indented lines about the mistake
        assert lines[0].startswith("NOT YET: ") and all(line.startswith("  ") for line in lines[1:]), out
        lines = lines[:1]
    assert len(lines) == 1 and err == "", f"expected one verdict line, got {out!r} / {err!r}"
    return lines[0]


def test_every_checker_is_in_the_table():
    public = {
        name[len("check_") :]
        for name, value in vars(exercises).items()
        if name.startswith("check_")
        and name != "check_cases"
        and getattr(value, "__module__", "") == exercises.__name__
    }
    assert public == set(CHECKERS), f"add the new checker(s) {sorted(public - set(CHECKERS))} to CHECKERS"


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_right_answers_pass(capsys, name):
    total, right, _ = CHECKERS[name]
    for learner in right:
        line = _verdict(capsys, _checker(name), learner)
        assert line == f"PASS: all {total} hidden cases of {_called(name)} agree with the reference."


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_plausible_wrong_answers_do_not_pass(capsys, name):
    _, _, wrong = CHECKERS[name]
    assert len(wrong) >= 3
    for learner in wrong:
        line = _verdict(capsys, _checker(name), learner, explained=name in EXPLAINS)
        assert line.startswith(f"NOT YET: {_called(name)}(") and ("expected" in line or "differ" in line), line


def _raises(*args):
    raise RuntimeError("boom\nsecond line")


def _exits(*args):
    sys.exit(2)


def _returns(value):
    return lambda *args: value


class _EqualToEverything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


BAD_KINDS = {
    "raises": (_raises, "raised RuntimeError: boom second line"),
    "exits": (_exits, "called sys.exit(2); return the answer instead of stopping Python"),
    "None": (_returns(None), "returned None"),
    "string": (_returns("abc"), "returned 'abc'"),
    "ragged list": (_returns([[1, 2], [3]]), "returned [[1, 2], [3]]"),
    "2D array": (_returns(np.ones((2, 2))), "returned"),
    "True": (_returns(True), "returned"),
    "equal to everything": (_returns(_EqualToEverything()), "returned <"),
    "not a function": ("my_function", "expected a function for"),
}


@pytest.mark.parametrize("kind", sorted(BAD_KINDS))
@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_bad_learner_functions_get_one_line(capsys, name, kind):
    learner, words = BAD_KINDS[kind]
    line = _verdict(capsys, _checker(name), learner)
    assert line.startswith("NOT YET: ") and words in line, line
    assert "Traceback" not in line


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_endless_loop_is_stopped(capsys, monkeypatch, name):
    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.2)

    def endless(*args):
        while True:
            pass

    line = _verdict(capsys, _checker(name), endless)
    assert line.startswith(f"NOT YET: {_called(name)}(") and line.endswith(
        "was stopped after 0.2 s without returning (an endless loop?)"
    )


def test_endless_loop_that_catches_exceptions_is_stopped_too(capsys, monkeypatch):
    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.2)

    def retries(k, d):
        while True:
            try:
                while True:
                    pass
            except Exception:  # "try again on any error": the stop is not an Exception
                pass

    def swallows_once(k, d):
        try:
            while True:
                pass
        except BaseException:  # a bare except catches the first stop; the next one ends the loop below
            pass
        while True:
            pass

    for learner in (retries, swallows_once):
        line = _verdict(capsys, exercises.check_effective_kernel_size, learner)
        assert (
            line == "NOT YET: effective_kernel_size(1, 1) was stopped after 0.2 s without returning (an endless loop?)"
        )


def test_without_signals_a_helper_thread_is_used(capsys, monkeypatch):
    """On Windows (no SIGALRM) or off the main thread, the checker stops waiting after the limit."""
    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.2)
    monkeypatch.setattr(exercises, "USE_SIGNALS", False)
    release = threading.Event()

    def endless(k, d):
        while not release.is_set():  # endless for the checker; released below so no thread is left
            pass

    try:
        line = _verdict(capsys, exercises.check_effective_kernel_size, endless)
    finally:
        release.set()
    assert line == (
        "NOT YET: effective_kernel_size(1, 1) did not return within 0.2 s (an endless loop?); restart the kernel to stop it"
    )
    assert _verdict(capsys, exercises.check_effective_kernel_size, lambda k, d: (k - 1) * d + 1).startswith("PASS")
    assert _verdict(capsys, exercises.check_effective_kernel_size, _exits).endswith(
        "called sys.exit(2); return the answer instead of stopping Python"
    )
    assert "raised RuntimeError" in _verdict(capsys, exercises.check_effective_kernel_size, _raises)


def test_checker_called_from_a_worker_thread(capsys, monkeypatch):
    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.2)
    results = []
    worker = threading.Thread(
        target=lambda: results.append(exercises.check_cases("f", lambda x: x, lambda x: x, [((1,), {})]))
    )
    worker.start()
    worker.join()
    assert results == [True]
    assert capsys.readouterr().out == "PASS: all 1 hidden cases of f agree with the reference.\n"


def test_the_alarm_is_switched_off_after_a_check():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    exercises.check_effective_kernel_size(lambda k, d: (k - 1) * d + 1)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is before


# The verdicts stored in the chapters for the empty exercise cell (a function whose body is `...`).
STORED_NONE_VERDICTS = {
    "effective_kernel_size": "effective_kernel_size(1, 1) returned None: it returns nothing yet (a missing return?)",
    "conv_output_size": "conv_output_size(10, 4, 1, 0, 2) returned None: it returns nothing yet (a missing return?)",
    "dilate_kernel_1d": "dilate_kernel_1d([-5.], 1) returned None, expected an array",
    "dilated_conv1d": "dilated_conv1d([-3.,  2., -4., -3., -2., -2.,  4.,  3.,  5.,  5.], [-3., -3.,  3.], 1) "
    "returned None, expected an array",
    "same_padding": "same_padding(1, 1) returned None: it returns nothing yet (a missing return?)",
    "tap_positions": "tap_positions(0, 1, 1, 1) returned None: it returns nothing yet (a missing return?)",
    "torch_to_keras_kernel": "to_keras(array(shape=(1, 1, 2, 2))) returned None, expected an array",
    "tf_same_padding": "tf_same(7, 1, 1, 1) returned None: it returns nothing yet (a missing return?)",
    "path_counts": "path_counts((1,)) returned None: it returns nothing yet (a missing return?)",
    "centre_to_max": "centre_to_max((1,)) returned None: it returns nothing yet (a missing return?)",
    "has_holes": "has_holes((1,)) returned None: it returns nothing yet (a missing return?)",
    "fibonacci": "fibonacci(1) returned None: it returns nothing yet (a missing return?)",
    "fastest_hole_free": "fastest_hole_free(1) returned None: it returns nothing yet (a missing return?)",
    "wavenet_receptive_field": "wavenet_receptive_field(1, 1, 2) returned None: it returns nothing yet (a missing return?)",
    "min_layers_for_delay": "min_layers_for_delay(0) returned None: it returns nothing yet (a missing return?)",
    "valid_tap_fraction": "valid_tap_fraction(1, 1) returned None: it returns nothing yet (a missing return?)",
    "find_the_bug_conv1d": "dilated_conv1d_loop([-3.,  2., -4., -3., -2., -2.,  4.,  3.,  5.], [ 3., -3., -3.], 2) "
    "returned None, expected an array",
    "aspp_rates": "choose_aspp_rates(513, 16) returned None, expected rates that meet all the rules",
    "hole_free_schedule": "design_schedule(21, 1.0, 4) returned None, expected 5 rates in 1..4 without holes, "
    "R >= 21 and centre/max >= 1.0",
    "causal_conv": "causal_dilated_conv(array(shape=(1, 1, 12)), array(shape=(1, 1, 2)), [-0.6798], 1) "
    "returned None, expected the causal convolution of the same length",
}


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_empty_exercise_cell_verdicts_are_unchanged(capsys, name):
    def empty(*args): ...  # the learner's cell before they write anything

    assert _verdict(capsys, _checker(name), empty) == f"NOT YET: {STORED_NONE_VERDICTS[name]}"


def test_checkers_name_the_first_failing_case(capsys):
    exercises.check_effective_kernel_size(lambda k, d: k * d)  # the classic mistake
    exercises.check_conv_output_size(lambda n, k, s, p, d: (n + 2 * p - k) // s + 1)  # forgot dilation
    exercises.check_dilate_kernel_1d(lambda w, d: np.repeat(w, d))
    exercises.check_effective_kernel_size(lambda k, d: 1 / 0)
    exercises.check_effective_kernel_size("not a function")
    exercises.check_same_padding(lambda k, d: ((k - 1) * d - (k - 1) * d // 2, (k - 1) * d // 2))
    exercises.check_fibonacci(lambda n: [1.5] * n)
    exercises.check_tap_positions(lambda i, k, d, s: "0")
    exercises.check_effective_kernel_size(lambda k, d: float((k - 1) * d + 1))
    exercises.check_has_holes(lambda r: 0)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "NOT YET: effective_kernel_size(1, 2) returned 2, expected 1; "
        "it looks like K * d: a kernel of K taps has K - 1 gaps, and each gap is d wide"
    )
    assert out[1].startswith("NOT YET: conv_output_size(") and "expected" in out[1]
    assert out[2].startswith("NOT YET: dilate_kernel_1d(") and "returned shape" in out[2]
    assert out[3] == "NOT YET: effective_kernel_size(1, 1) raised ZeroDivisionError: division by zero"
    assert out[4] == "NOT YET: expected a function for effective_kernel_size, got str"
    assert out[5] == (
        "NOT YET: same_padding(2, 1) returned (1, 0), expected (0, 1); "
        "it looks like the two sides are swapped: PyTorch puts the smaller half before"
    )
    assert out[6] == "NOT YET: fibonacci(1) returned [1.5], expected [1]"  # list answers are not truncated
    assert out[7] == "NOT YET: tap_positions(0, 1, 1, 1) returned '0', expected (0,) (a tuple of integers, not a str)"
    assert out[8] == (
        "NOT YET: effective_kernel_size(1, 1) returned 1.0, expected 1: the right value, but a float; "
        "return an int (// not /)"
    )
    assert out[9] == "NOT YET: has_holes((1,)) returned 0, expected False (True or False)"


def test_a_learner_that_modifies_its_arguments_changes_neither_the_cases_nor_the_verdict(capsys):
    def vandal(x, w, d):
        x[:] = 0
        w[:] = 0
        return None

    exercises.check_dilated_conv1d(vandal)
    assert capsys.readouterr().out == f"NOT YET: {STORED_NONE_VERDICTS['dilated_conv1d']}\n"


def test_check_cases_expected_errors(capsys, monkeypatch):
    def reference(x):
        if x < 0:
            raise ValueError("x")
        return x

    def hangs_on_negative(x):
        while x < 0:
            pass
        return x

    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.2)
    errors = [((-1,), {}, ValueError)]
    assert exercises.check_cases("f", reference, reference, [((1,), {})], expect_errors=errors)
    assert not exercises.check_cases("f", lambda x: x, reference, [((1,), {})], expect_errors=errors)
    assert not exercises.check_cases(
        "f", lambda x: 1 // 0 if x < 0 else x, reference, [((1,), {})], expect_errors=errors
    )
    assert not exercises.check_cases("f", hangs_on_negative, reference, [((1,), {})], expect_errors=errors)
    assert not exercises.check_cases(
        "f", lambda x: sys.exit() if x < 0 else x, reference, [((1,), {})], expect_errors=errors
    )
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "PASS: all 2 hidden cases of f agree with the reference.",
        "NOT YET: f(-1) should raise ValueError, returned -1",
        "NOT YET: f(-1) should raise ValueError, raised ZeroDivisionError",
        "NOT YET: f(-1) was stopped after 0.2 s without returning (an endless loop?)",
        "NOT YET: f(-1) called sys.exit(None); return the answer instead of stopping Python",
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(name=""), ValueError, "name must not be empty"),
        (dict(name=3), TypeError, "name must be a string"),
        (dict(reference=None), TypeError, "reference must be callable"),
        (dict(cases=[(1, {})]), TypeError, r"cases\[0\] must be \(args tuple, kwargs dict\)"),
        (dict(cases="abc"), TypeError, "cases must be a list of"),
        (dict(cases=[]), ValueError, "cases must not be empty"),
        (dict(atol=-1.0), ValueError, "atol must be >= 0, got -1.0"),
        (dict(atol=float("nan")), ValueError, "atol must be a finite number"),
        (dict(expect_errors=[((1,), {}, "ValueError")]), TypeError, r"expect_errors\[0\] must be"),
    ],
)
def test_check_cases_bad_arguments(kwargs, error, message):
    arguments = dict(name="f", learner=abs, reference=abs, cases=[((1,), {})]) | kwargs
    with pytest.raises(error, match=message):
        exercises.check_cases(**arguments)


# Issue 20, items 4, 7, 8: nothing the learner's call does in place, in the frames above it or in
# the module reaches the reference; the limit and the one-line verdict cannot be escaped.

ARRAY_CHECKERS = ["dilate_kernel_1d", "dilated_conv1d", "find_the_bug_conv1d", "torch_to_keras_kernel", "causal_conv"]


def _in_place(mutate, answer):
    def learner(*args):
        for arg in args:
            if isinstance(arg, torch.Tensor):
                mutate(arg)
            elif isinstance(arg, np.ndarray) and arg.flags.writeable:
                mutate(torch.from_numpy(arg))
        return answer(*args)

    return learner


@pytest.mark.parametrize("name", ARRAY_CHECKERS)
@pytest.mark.parametrize("mutate", [torch.Tensor.zero_, lambda t: t.copy_(t.flip(-1)), lambda t: t.sub_(t.mean())])
def test_a_learner_that_mutates_its_arguments_in_place_cannot_change_the_reference(capsys, name, mutate):
    _, right, _ = CHECKERS[name]
    line = _verdict(capsys, _checker(name), _in_place(mutate, right[0]), explained=name in EXPLAINS)
    assert line.startswith(f"NOT YET: {_called(name)}("), line


def test_causal_conv_reproducers_of_the_issue_do_not_pass(capsys):
    def zeroes(x, w, b, d):
        w.zero_(), b.zero_()
        return torch.zeros_like(x[:, :1].expand(-1, w.shape[0], -1))

    def flips(x, w, b, d):
        w.copy_(w.flip(-1))
        return F.conv1d(F.pad(x, ((w.shape[-1] - 1) * d, 0)), w, b, dilation=d)

    def centres(x, w, b, d):
        x.sub_(x.mean())
        return F.conv1d(F.pad(x, ((w.shape[-1] - 1) * d, 0)), w, b, dilation=d)

    for learner in (zeroes, flips, centres):
        assert _verdict(capsys, exercises.check_causal_conv, learner).startswith("NOT YET: causal_dilated_conv(")


def _expected_from_frames(*args):
    frame = sys._getframe(1)
    while frame is not None:
        if "expected" in frame.f_locals:
            return frame.f_locals["expected"]
        frame = frame.f_back
    return None


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_the_expected_value_is_in_no_frame_the_learner_can_reach(capsys, name):
    line = _verdict(capsys, _checker(name), _expected_from_frames, explained=name in EXPLAINS)
    assert line.startswith("NOT YET: "), line


def test_replacing_the_module_helpers_or_references_forges_nothing(capsys, monkeypatch):
    from course_utils import conv

    monkeypatch.setattr(exercises, "_same", lambda *args: (True, ""))
    monkeypatch.setattr(exercises, "_aspp_rate_problem", lambda *args: "")
    monkeypatch.setattr(exercises, "check_cases", lambda *args, **kwargs: print("PASS") or True)
    monkeypatch.setattr(conv, "effective_kernel_size", lambda k, d=1: None)
    monkeypatch.setattr(exercises, "effective_kernel_size", lambda k, d=1: None)
    assert _verdict(capsys, exercises.check_effective_kernel_size, lambda k, d: None).startswith("NOT YET")
    assert _verdict(capsys, exercises.check_aspp_rates, lambda s, o: (1, 2, 3)).startswith("NOT YET")
    assert _verdict(capsys, exercises.check_effective_kernel_size, lambda k, d: (k - 1) * d + 1).startswith("PASS")


def test_monkeypatching_numpy_in_the_notebook_forges_nothing(capsys, monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(np, "isfinite", lambda *args, **kwargs: np.True_)
    assert _verdict(capsys, exercises.check_dilate_kernel_1d, lambda w, d: np.zeros((len(w) - 1) * d + 1)).startswith(
        "NOT YET: dilate_kernel_1d("
    )


class _LoopingRepr:
    def __repr__(self):
        while True:
            pass


class _RaisingRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


class _RaisingStr(Exception):
    def __str__(self):
        raise RuntimeError("no str")


class _SlowInt(int):
    def __int__(self):
        import time

        time.sleep(30)
        return 0

    __index__ = __int__


class _Base(BaseException):
    pass


def _ignores_alarm(k, d):
    import signal

    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    while True:
        pass


def _switches_timer_off(k, d):
    import signal

    signal.setitimer(signal.ITIMER_REAL, 0)
    while True:
        pass


def _long_c_call(k, d):
    return sum(range(4 * 10**7)) * 0 + (k - 1) * d + 1


def _nested_checker(k, d):
    exercises.check_effective_kernel_size(lambda k, d: (k - 1) * d + 1)
    while True:
        pass


def _raise(error):
    def learner(k, d):
        raise error

    return learner


ESCAPES = {
    "looping repr": (lambda k, d: _LoopingRepr(), "was stopped after 0.3 s"),
    "ignored SIGALRM": (_ignores_alarm, "was stopped after 0.3 s"),
    "timer switched off": (_switches_timer_off, "was stopped after 0.3 s"),
    "long C call": (_long_c_call, "0.3 s"),
    "nested checker": (_nested_checker, "raised RuntimeError: a checker cannot run inside the function it checks"),
    "slow __int__": (lambda k, d: _SlowInt(k * d), "returned"),
    "raising repr": (lambda k, d: _RaisingRepr(), "whose repr() raised RuntimeError"),
    "raising str": (_raise(_RaisingStr()), "raised _RaisingStr: (its message could not be shown"),
    "BaseException": (_raise(_Base("out")), "raised _Base: out"),
    "KeyboardInterrupt": (_raise(KeyboardInterrupt()), "raised KeyboardInterrupt"),
}


@pytest.mark.skipif(not exercises.USE_SIGNALS, reason="SIGALRM is the limit's main path")
@pytest.mark.parametrize("kind", sorted(ESCAPES))
def test_the_limit_and_the_one_line_verdict_cannot_be_escaped(capsys, monkeypatch, kind):
    import time

    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.3)
    learner, words = ESCAPES[kind]
    started = time.monotonic()
    line = _verdict(capsys, exercises.check_effective_kernel_size, learner)
    took = time.monotonic() - started
    assert line.startswith("NOT YET: effective_kernel_size(") and words in line, line
    assert took < 0.3 + 1.0 or kind == "long C call", took  # a C call is reported as soon as it returns


TYPICAL_MISTAKES = [
    ("effective_kernel_size", lambda k, d: k * d, "it looks like K * d"),
    ("effective_kernel_size", lambda k, d: (k - 1) * d, "it looks like off by one"),
    ("conv_output_size", lambda n, k, s, p, d: (n + 2 * p - k) // s + 1, "the dilation is forgotten"),
    ("conv_output_size", lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1, "padding is counted on one side"),
    ("dilate_kernel_1d", lambda w, d: np.repeat(w, d), "each tap is repeated d times"),
    ("dilated_conv1d", lambda x, w, d: _dilated_conv1d(x, w[::-1].copy(), d), "the kernel is flipped"),
    ("same_padding", lambda k, d: ((k - 1) // 2, (k - 1) - (k - 1) // 2), "the dilation is dropped"),
    ("same_padding", lambda k, d: ((k - 1) * d - (k - 1) * d // 2, (k - 1) * d // 2), "the two sides are swapped"),
    ("tap_positions", lambda i, k, d, s: [i + j * d for j in range(k)], "the stride is forgotten"),
    ("torch_to_keras_kernel", lambda w: w.reshape(w.shape[2], w.shape[3], w.shape[1], w.shape[0]), "reshape"),
    ("torch_to_keras_kernel", lambda w: np.transpose(w, (2, 3, 0, 1)), "output and input axes are swapped"),
    ("tf_same_padding", lambda n, k, s, d: _tf_same(n, k, s, 1), "the dilation is dropped"),
    ("tf_same_padding", lambda n, k, s, d: _tf_same(n, k, s, d)[::-1], "the sides are swapped"),
    ("centre_to_max", lambda r: rf.describe(r).centre_to_max ** 0.5, "the 1D ratio"),
    ("has_holes", lambda r: not rf.has_gridding(r), "the answer is inverted"),
    ("fibonacci", lambda n: [0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89][:n], "starts at 0"),
    ("fastest_hole_free", lambda n: [2**i for i in range(n)], "powers of 2"),
    ("wavenet_receptive_field", lambda n, s, k: 1 + s * (2**n - 1), "the kernel size is forgotten"),
    ("wavenet_receptive_field", lambda n, s, k: s * (k - 1) * (2**n - 1), "off by one"),
    ("valid_tap_fraction", lambda n, r: rf.valid_tap_fraction(n, r) ** 0.5, "the 1D fraction"),
]


@pytest.mark.parametrize(("name", "learner", "hint"), TYPICAL_MISTAKES)
def test_typical_mistakes_are_named_in_the_learners_own_function_name(capsys, name, learner, hint):
    line = _verdict(capsys, _checker(name), learner)
    assert line.startswith(f"NOT YET: {_called(name)}(") and "; it looks like" in line and hint in line, line


def test_when_grading_no_verdict_shows_an_expected_value(capsys, monkeypatch):
    monkeypatch.setattr(exercises, "REVEAL_EXPECTED", False)
    for name, learner, hint in TYPICAL_MISTAKES:
        line = _verdict(capsys, _checker(name), learner)
        assert hint in line and re.search(HIDDEN, line) is None, line
    for name in CHECKERS:
        for learner in (lambda *args: None, lambda *args: "abc"):
            line = _verdict(capsys, _checker(name), learner, explained=name in EXPLAINS)
            assert re.search(HIDDEN, line) is None, line


HIDDEN = r"expected [\[(]|expected \d+(?! rates in)|of shape \(\d+,\)(?!, but)"  # a value, not a rule of chapter 7


def test_an_alarm_handled_after_the_call_ended_raises_nothing_later(capsys, monkeypatch):
    """A SIGALRM that arrives as the limit is switched off is handled by Python a few bytecodes
    later: it must not raise in (or re-arm a timer for) the code that runs after the checker."""
    import signal

    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.2)
    real_signal = signal.signal

    def restore_after_a_late_alarm(signum, handler):
        current = signal.getsignal(signal.SIGALRM)
        if signum == signal.SIGALRM and getattr(current, "__name__", "") == "on_alarm" and handler is not current:
            signal.raise_signal(signal.SIGALRM)  # handled now, by the checker's handler, after the call ended
        return real_signal(signum, handler)

    monkeypatch.setattr(signal, "signal", restore_after_a_late_alarm)

    def loops(k, d):
        while True:
            pass

    line = _verdict(capsys, exercises.check_effective_kernel_size, loops)
    assert line.startswith("NOT YET: effective_kernel_size(1, 1) was stopped after 0.2 s")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # no timer left armed for later code
