"""The second round of bad inputs (issue 20): exact answers where 64 bits overflow, and every public
function that could hang or exhaust memory either finishes or refuses up front, naming the limit.

Each reproducer runs in a child process with its address space capped (``resource.setrlimit``) and
a time bound far above what the fixed code needs and far below what the old code took, so a
regression fails here instead of stalling or swapping the test run. Timings are not asserted.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

import course_utils
from course_utils import conv, demos, probe
from course_utils import receptive_field as rf

ROOT = Path(__file__).resolve().parents[1]
GIB = 2**30


def bounded(code: str, memory: int = 2 * GIB, seconds: int = 90) -> str:
    """Run ``code`` in a child whose address space is capped at ``memory`` bytes; return its stdout."""
    prelude = f"import resource\nresource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))\n"
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=seconds,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def exact_counts(rates: tuple[int, ...], k: int = 3) -> list[int]:
    """Path counts by polynomial multiplication in Python integers, independent of the package."""
    counts = [1]
    for d in rates:
        grown = [0] * (len(counts) + (k - 1) * d)
        for t in range(k):
            for i, c in enumerate(counts):
                grown[i + t * d] += c
        counts = grown
    return counts


def exact_cv(counts: list[int]) -> float:
    """Population CV of the 2D map outer(counts, counts), summed entry by entry in fractions."""
    grid = [a * b for a in counts for b in counts]
    mean = Fraction(sum(grid), len(grid))
    variance = sum((Fraction(g) - mean) ** 2 for g in grid) / len(grid)
    return math.sqrt(variance / mean**2)


# Item 5: path counts beyond 64 bits ---------------------------------------------------------------


@pytest.mark.parametrize("layers", [22, 30, 45])
def test_describe_is_exact_where_int64_overflowed(layers):
    report = rf.describe([1] * layers)
    counts = exact_counts((1,) * layers)
    assert rf.path_counts([1] * layers).tolist() == counts
    assert report.centre_weight == max(counts) ** 2 and report.max_weight == max(counts) ** 2
    assert report.centre_to_max == 1.0  # was 0.757 at 45 layers
    assert report.cv == pytest.approx(exact_cv(counts), rel=1e-12) and report.cv > 0  # was 3.73 / -197.8
    if layers == 22:
        assert round(report.cv, 3) == 3.145


def test_gradient_map_is_exact_and_agrees_with_the_pytorch_probe():
    grid = rf.gradient_map([1] * 22, 45)
    centre = exact_counts((1,) * 22)[22] ** 2
    assert grid[22, 22] == centre == 10504959504381567729  # int64 gave -7.9e18
    assert min(grid.ravel().tolist()) >= 0
    measured = probe.gradient_probe([1] * 22, 45)  # float64 in PyTorch
    np.testing.assert_allclose(measured, grid.astype(np.float64), rtol=1e-12)


def test_the_explorer_draws_no_negative_cells_inside_its_limits():
    from course_utils.widgets import receptive_field_explorer

    explorer = receptive_field_explorer(rates=" ".join(["1"] * 12), kernel_size=9, size=97)
    assert explorer.message.value == ""
    line = exact_counts((1,) * 12, 9)
    assert explorer.grid.tolist() == [[a * b for a in line] for b in line]  # 808 cells were negative
    assert explorer.numbers["centre_weight"] == max(line) ** 2


def test_path_counts_refuse_a_field_beyond_the_limit():
    with pytest.raises(ValueError, match=r"receptive field of 4,194,305 samples.*MAX_FIELD"):
        rf.path_counts([2**21])
    with pytest.raises(ValueError, match=r"exact \(beyond 64 bits\) counts; the limit is"):
        rf.path_counts([1] * 5000)


# Item 6: max_abs_diff and masked arrays ----------------------------------------------------------


def test_max_abs_diff_subtracts_big_integers_exactly():
    assert course_utils.max_abs_diff([10**17 + 3], [10**17]) == 3.0  # was 0.0
    assert course_utils.max_abs_diff(np.array([2**62 + 1], dtype=np.int64), np.array([2**62])) == 1.0
    assert course_utils.max_abs_diff([10**17 + 3], [1e17]) == 3.0
    assert course_utils.max_abs_diff([0.5, 2], [0.25, 2]) == 0.25


def test_masked_arrays_are_refused_not_silently_unmasked():
    hidden = np.ma.array([1.0, 99.0, 3.0], mask=[False, True, False])
    with pytest.raises(TypeError, match=r"x must be a plain array, got a masked array with 1 masked entry"):
        conv.conv1d(hidden, np.ones(2))
    with pytest.raises(TypeError, match=r"a must be a plain array"):
        course_utils.max_abs_diff(hidden, [1.0, 2.0, 3.0])
    plain = np.ma.array([1.0, 2.0, 3.0])  # nothing masked: the values are the array
    np.testing.assert_array_equal(conv.conv1d(plain, np.ones(2)), [3.0, 5.0])


# Items 9-12: every public function finishes or refuses up front ----------------------------------


def test_squares_batch_and_the_study_at_the_smallest_size():
    out = bounded(
        """
        import numpy as np
        from course_utils import demos, degridding
        x, y = demos.squares_batch(312, 21)
        assert all((y[i] == 1).any() and (y[i] == 2).any() for i in range(312))
        result = degridding.degridding_study(kinds=("dense",), runs=1, steps=1, size=21, width=2, rate=3)
        print(sorted(result["dense"]))
        """,
        seconds=120,
    )
    assert "miou" in out
    with pytest.raises(ValueError, match=r"n x size x size must be at most 16,777,216 pixels"):
        demos.squares_batch(10**5, 1000)


def test_polyphase_conv2d_at_huge_rates():
    out = bounded(
        """
        import numpy as np
        from course_utils import conv
        x, w = np.random.default_rng(0).standard_normal((1, 2, 8, 8)), np.ones((3, 2, 3, 3))
        centre = conv.conv2d(x, w[:, :, 1:2, 1:2])  # past the image only the centre tap reads pixels
        for d in (1000, 3000, 10**9):
            y = conv.polyphase_conv2d(x, w, padding="same", dilation=d)
            assert y.shape == (1, 3, 8, 8) and np.allclose(y, centre)
        for d in (1000, 3000):
            assert np.array_equal(
                conv.polyphase_conv2d(x, w, padding="same", dilation=d), conv.conv2d(x, w, padding="same", dilation=d)
            )
        print("ok")
        """,
        memory=GIB + GIB // 2,
        seconds=60,
    )
    assert out == "ok\n"


def test_the_explorer_at_its_maxima():
    out = bounded(
        """
        from course_utils.widgets import receptive_field_explorer
        explorer = receptive_field_explorer(size=129)
        for k in (3, 9):
            explorer.kernel_size.value = k
            for weights in ("ones", "random"):
                explorer.weights.value = weights
                explorer.rates.value = " ".join(["512"] * 16)
                assert explorer.message.value == "", explorer.message.value
                assert explorer.numbers["receptive_field"] == 1 + (k - 1) * 512 * 16
                explorer.rates.value = "1"
        print("ok")
        """,
        memory=3 * GIB,  # PyTorch alone maps about 1 GB of address space
        seconds=120,
    )
    assert out == "ok\n"


def test_animations_tcn_and_receptive_fields_at_their_limits():
    out = bounded(
        """
        import torch
        from course_utils import anim, receptive_field as rf
        from course_utils.blocks import TCN
        assert len(anim.fibonacci_growth_frames(29, 21, 2)) == 29
        for call in (lambda: anim.fibonacci_growth_frames(30), lambda: anim.slide_frames(anim.SlideConfig("x", input_size=64))):
            try:
                call()
            except ValueError as error:
                print(str(error)[:40])
        torch.manual_seed(0)
        y = TCN(2, [4] * 30).eval()(torch.randn(1, 2, 16))
        assert y.shape == (1, 4, 16)
        assert rf.impulse_extent([(3, 1, 1000)] * 10) == 20001 == rf.receptive_field([(3, 1, 1000)] * 10).size
        assert rf.impulse_extent([(3, 1, 10**4)]) == 20001
        assert rf.has_gridding([1] * 10**5) is False and rf.has_gridding([10**4, 10**4]) is True
        assert rf.describe([10**4]).holes_1d == 20001 - 3
        print("ok")
        """,
        memory=3 * GIB,
        seconds=120,
    )
    assert out.splitlines() == ["n_layers must be <= 29, got 30", "config (input_size=64) with cell=24 give", "ok"]


def test_holes_by_reachability_agree_with_path_counts():
    rng = np.random.default_rng(0)
    for _ in range(300):
        rates = tuple(int(r) for r in rng.integers(1, 12, rng.integers(1, 6)))
        k = int(rng.choice([1, 3, 5]))
        counts = rf.path_counts(rates, k)
        expected = np.flatnonzero(counts == 0) - (len(counts) - 1) // 2
        np.testing.assert_array_equal(rf.holes(rates, k), expected)
        assert rf.has_gridding(rates, k) == bool(len(expected))


# Item 15: tensors NumPy cannot hold, NumPy scalars, huge sizes -----------------------------------


def test_tensor_kinds_get_course_errors():
    assert course_utils.max_abs_diff(torch.tensor([1.5, 2.0], dtype=torch.bfloat16), [1.5, 2.0]) == 0.0
    with pytest.raises(TypeError, match=r"x must be a dense tensor, got a tensor with layout torch.sparse_coo"):
        conv.conv1d(torch.ones(5).to_sparse(), np.ones(2))
    with pytest.raises(TypeError, match=r"x must hold values, got a tensor on the 'meta' device"):
        conv.conv1d(torch.ones(5, device="meta"), np.ones(2))


def test_numpy_scalars_are_accepted_alike():
    from course_utils.blocks import ASPP, TCN, ContextModule, TemporalBlock

    ContextModule(2, identity_init=np.True_)
    TCN(2, [3], dropout=np.float32(0.2))
    TemporalBlock(2, 3, 2, 1, dropout=np.float64(0.1))
    ASPP(4, 8, (1, 2), image_pooling=np.False_, dropout=np.float32(0.2))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: demos.delay_batch(10**6, 10**6, 1), r"n=1000000 x length=1000000 would need an array"),
        (lambda: conv.dilate_kernel(np.ones(3), 10**12), r"dilation=1000000000000 on w.shape=\(3,\) would need"),
        (lambda: probe.effective_receptive_field((1, 2), 10**6), r"size=1000000, kernel_size=3 and 2 layers need"),
        (lambda: rf.gradient_map((1, 2), 10**6), r"size must be <= 2049"),
        (lambda: rf.valid_tap_fraction(10**12, 3), None),
    ],
)
def test_huge_sizes_are_refused_or_computed_without_allocating(call, message):
    if message is None:
        assert call() == pytest.approx(1.0, rel=1e-9)
        return
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        ("blocks.conv_bn_relu(10**9, 4, 3)", r"in_channels=1000000000, out_channels=4, kernel_size=3 would make about"),
        ("blocks.WaveNet(2, 3, n_stacks=10**5)", r"n_stacks x n_layers must be at most 4096 blocks"),
        ("blocks.future_leaks(torch.nn.Identity(), 1, 10**5)", r"length must be <= 4096"),
        ("backbones.TinyResNet(width=10**5)", r"width=100000, in_channels=3 would make about"),
        ("conv.conv2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), padding=10**5)", r"padding=100000 on x.shape"),
    ],
)
def test_huge_modules_and_paddings_are_refused_before_pytorch_or_numpy_allocates(build, message):
    """Item 15: course errors, not PyTorch's allocator error nor NumPy's _ArrayMemoryError."""
    out = bounded(
        f"""
        import numpy as np, torch
        from course_utils import backbones, blocks, conv
        try:
            {build}
        except ValueError as error:
            print(error)
        """,
        memory=3 * GIB,
        seconds=60,
    )
    assert re.search(message, out), out
