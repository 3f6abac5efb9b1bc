"""Receptive-field toolkit: closed forms vs brute force, path counts, holes, HDC, schedules, probe."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import probe, sequences
from course_utils import receptive_field as rf

# Regression values from the literature --------------------------------------------------------


def test_yu_koltun_context_module():
    layers = [(3, 1, d) for d in (1, 1, 2, 4, 8, 16, 1)] + [(1, 1, 1)]
    result = rf.receptive_field(layers)
    assert [layer.size for layer in result.layers] == [3, 5, 9, 17, 33, 65, 67, 67]
    assert result.size == 67 and result.stride == 1


def test_wavenet_stack_kernel_2_dilations_1_to_512():
    result = rf.receptive_field([{"kernel_size": 2, "dilation": 2**i} for i in range(10)])
    assert result.size == 1024


def test_strided_stack_known_values():
    # VGG-like: conv3, conv3, pool2/2, conv3, conv3, pool2/2 -> 16, stride 4 (Araujo et al. 2019)
    layers = [(3,), (3,), (2, 2), (3,), (3,), (2, 2)]
    result = rf.receptive_field(layers)
    assert (result.size, result.stride) == (16, 4)
    assert "jump" in result.table() and len(result.table().splitlines()) == 7


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3)), min_size=1, max_size=4))
def test_closed_form_size_equals_brute_force_impulse_count(layers):
    assert rf.impulse_extent(layers) == rf.receptive_field(layers).size


def test_receptive_field_bad_layers():
    with pytest.raises(ValueError, match="layers must not be empty"):
        rf.receptive_field([])
    with pytest.raises(ValueError, match="layers must not be empty"):
        rf.impulse_extent([])
    with pytest.raises(ValueError, match=r"layers\[1\].dilation must be >= 1, got 0"):
        rf.receptive_field([(3, 1, 1), (3, 1, 0)])
    with pytest.raises(
        TypeError, match=r"layers\[0\] must be a \(kernel_size, stride, dilation\) tuple or a dict, got 3"
    ):
        rf.receptive_field([3])
    with pytest.raises(
        ValueError, match=r"layers\[0\] must be \(kernel_size\[, stride\[, dilation\]\]\), got \(3, 1, 1, 1\)"
    ):
        rf.receptive_field([(3, 1, 1, 1)])
    with pytest.raises(ValueError, match=r"layers\[0\] must have 'kernel_size'.*got keys \['dilaton', 'kernel_size'\]"):
        rf.receptive_field([{"kernel_size": 3, "dilaton": 2}])


# Path counts, holes, gradient maps -----------------------------------------------------------


def test_path_counts_gridding_notebook_examples():
    np.testing.assert_array_equal(rf.path_counts((1,)), [1, 1, 1])
    np.testing.assert_array_equal(rf.path_counts((2,)), [1, 0, 1, 0, 1])
    counts = rf.path_counts((1, 2, 4))
    assert len(counts) == 15 and counts[7] == 1 and counts.max() == 3  # 2D: centre 1, max 9
    assert counts.sum() == 27  # 3 taps per layer, 3 layers: 3^3 paths in all


@given(st.lists(st.integers(1, 6), min_size=1, max_size=5), st.sampled_from([1, 3, 5]))
def test_path_counts_equal_enumeration_of_tap_choices(dilations, k):
    half = (k - 1) // 2
    expected = np.zeros(2 * half * sum(dilations) + 1, dtype=int)
    for taps in itertools.product(range(-half, half + 1), repeat=len(dilations)):
        expected[sum(t * d for t, d in zip(taps, dilations, strict=True)) + half * sum(dilations)] += 1
    np.testing.assert_array_equal(rf.path_counts(dilations, k), expected)


@settings(max_examples=120)
@given(
    dilations=st.lists(st.integers(1, 7), min_size=1, max_size=5),
    size=st.integers(1, 31),
    k=st.sampled_from([1, 3, 5]),
)
def test_gradient_map_equals_pytorch_probe_exactly(dilations, size, k):
    analytic = rf.gradient_map(dilations, size, k)
    measured = probe.gradient_probe(dilations, size, k)
    assert analytic.dtype == np.int64 and analytic.shape == (size, size)
    np.testing.assert_array_equal(analytic, measured)


def test_gradient_map_is_the_path_count_when_the_image_is_large_enough():
    counts = rf.path_counts((1, 1, 2, 3, 5))
    radius = (len(counts) - 1) // 2
    grid = rf.gradient_map((1, 1, 2, 3, 5), 41)
    np.testing.assert_array_equal(grid[20 - radius : 21 + radius, 20 - radius : 21 + radius], np.outer(counts, counts))
    assert grid.sum() == counts.sum() ** 2


def test_gradient_map_truncates_at_the_edge():
    # (2,2,2,2) on 21x21 as in Jonas1312's notebook: RF 17 fits, but paths through padding are lost for larger stacks
    full = rf.path_counts((4, 4, 4)).sum() ** 2
    assert rf.gradient_map((4, 4, 4), 11).sum() < full
    assert rf.gradient_map((4, 4, 4), 25).sum() == full


@pytest.mark.parametrize(
    ("dilations", "m2", "passes", "gridding"),
    [
        ((1, 2, 5), 2, True, False),  # passes, no holes: the criterion works
        ((1, 2, 9), 5, False, True),  # fails, holes: the criterion works
        ((2, 3, 5), 3, True, True),  # passes yet holes: it assumes r_1 = 1
        ((1, 3, 1), 5, False, False),  # fails yet no holes: sufficient, not necessary
        ((2, 2, 2, 2), 2, True, True),  # passes M2 <= 3 alone; the common-factor rule rejects it
    ],
)
def test_hdc_m2_rule_against_exact_holes(dilations, m2, passes, gridding):
    assert rf.hdc_max_distance(dilations) == m2
    assert (m2 <= 3) is passes is rf.hdc(dilations).m2_ok
    assert rf.has_gridding(dilations) is gridding


def test_holes_offsets_and_single_layer_hdc():
    assert rf.holes((2,)).tolist() == [-1, 1]
    assert rf.holes((1, 2, 9)).tolist() == [-5, -4, 4, 5]
    assert rf.hdc_max_distance((7,)) == 7


def test_describe_gridding_notebook_claim_for_1_2_4():
    report = rf.describe((1, 2, 4))
    assert (report.centre_weight, report.max_weight) == (1, 9)
    assert report.size == 15 and report.holes_2d == 0 and report.coverage == 1.0
    repeated = rf.describe((2, 2, 2, 2))
    assert repeated.holes_2d == 17 * 17 - 9 * 9 and repeated.hdc_m2 == 2 and not repeated.hdc_ok
    table = rf.report_table({"doubling": (1, 2, 4, 8), "Fibonacci": (1, 1, 2, 3)})
    assert table.splitlines()[2].split()[:2] == ["doubling", "(1,"]


@pytest.mark.parametrize("fn", [rf.path_counts, rf.holes, rf.has_gridding, rf.hdc_max_distance, rf.hdc, rf.describe])
def test_bad_dilations_and_even_kernels(fn):
    with pytest.raises(ValueError, match=r"dilations must not be empty"):
        fn(())
    with pytest.raises(ValueError, match=r"dilations\[1\] must be >= 1, got 0"):
        fn((1, 0))
    with pytest.raises(TypeError, match=r"dilations\[0\] must be an integer, got 'a'"):
        fn(["a"])
    with pytest.raises(TypeError, match=r"dilations must be a sequence of integers, got 3"):
        fn(3)
    with pytest.raises(ValueError, match=r"kernel_size must be odd .* got kernel_size=2"):
        fn((1, 2), 2)


def test_gradient_map_bad_arguments():
    with pytest.raises(ValueError, match=r"kernel_size must be odd .* got kernel_size=4"):
        rf.gradient_map((1, 2), 21, kernel_size=4)
    with pytest.raises(ValueError, match="size must be >= 1, got 0"):
        rf.gradient_map((1, 2), 0)


# Schedules ------------------------------------------------------------------------------------


def test_sequences_values():
    assert sequences.fibonacci(1) == [1]
    assert sequences.fibonacci(7) == [1, 1, 2, 3, 5, 8, 13]
    assert sequences.powers(2, 10)[-1] == 512
    assert sequences.sawtooth(7) == [1, 2, 3, 1, 2, 3, 1]
    assert sequences.fastest_hole_free(4) == [1, 3, 9, 27]
    assert sequences.fastest_hole_free(3, kernel_size=5) == [1, 5, 25]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_fastest_hole_free_is_the_best_by_exhaustive_search(n):
    best = max(
        len(rf.path_counts(rates)) for rates in itertools.product(range(1, 31), repeat=n) if not rf.has_gridding(rates)
    )
    rates = sequences.fastest_hole_free(n)
    assert len(rf.path_counts(rates)) == best == 3**n
    assert not rf.has_gridding(rates) and set(rf.path_counts(rates)) == {1}  # one path to every pixel


@given(st.integers(1, 12))
def test_fibonacci_never_leaves_holes(n):
    rates = sequences.fibonacci(n)
    assert sequences.contiguous_growth(rates)
    assert not rf.has_gridding(rates)


@given(st.lists(st.integers(1, 12), min_size=1, max_size=5))
def test_contiguous_growth_is_sufficient(rates):
    if sequences.contiguous_growth(rates):
        assert not rf.has_gridding(rates)


def test_contiguous_growth_is_not_necessary():
    assert not sequences.contiguous_growth((2, 1)) and not rf.has_gridding((2, 1))


def test_sequences_bad_arguments():
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        sequences.fibonacci(0)
    with pytest.raises(ValueError, match="kernel_size must be odd, got kernel_size=2"):
        sequences.fastest_hole_free(3, 2)
    with pytest.raises(ValueError, match="kernel_size=1 never grows"):
        sequences.fastest_hole_free(3, 1)
    with pytest.raises(ValueError, match="cycle must not be empty"):
        sequences.sawtooth(3, ())
    with pytest.raises(TypeError, match="base must be an integer, got 2.0"):
        sequences.powers(2.0, 3)


# PyTorch probe --------------------------------------------------------------------------------


def test_probe_random_weights_are_seeded_and_nonlinear_needs_random_input():
    a = probe.gradient_probe((1, 2), 15, weights="random", seed=3)
    b = probe.gradient_probe((1, 2), 15, weights="random", seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, probe.gradient_probe((1, 2), 15, weights="random", seed=4))
    # the support of a linear random-weight stack is the path-count support
    np.testing.assert_array_equal(a != 0, rf.gradient_map((1, 2), 15) != 0)
    with pytest.raises(ValueError, match="nonlinearity='relu' with input='zeros' gives a zero gradient"):
        probe.gradient_probe((1, 2), 15, nonlinearity="relu")
    with pytest.raises(ValueError, match=r"weights must be one of \['ones', 'random'\], got 'zeros'"):
        probe.gradient_probe((1, 2), 15, weights="zeros")
    with pytest.raises(ValueError, match=r"kernel_size must be odd"):
        probe.gradient_probe((1, 2), 15, kernel_size=2)


def test_effective_receptive_field_is_inside_the_theoretical_one_and_peaks_near_the_centre():
    erf = probe.effective_receptive_field((1, 1, 1, 1), 21, n_samples=8, seed=1)
    support = rf.gradient_map((1, 1, 1, 1), 21) > 0
    assert np.all(erf[~support] == 0) and np.all(erf[support] >= 0)
    assert erf[10, 10] == erf.max() or erf[10, 10] > 0.5 * erf.max()
    with pytest.raises(ValueError, match="n_samples must be >= 1, got 0"):
        probe.effective_receptive_field((1,), 9, n_samples=0)


@pytest.mark.parametrize("depth", [1, 2, 5, 9])
def test_spread_of_a_plain_stack_is_sqrt_of_two_thirds_depth(depth):
    grid = rf.gradient_map((1,) * depth, 4 * depth + 3)
    assert rf.spread(grid) == pytest.approx(np.sqrt(2 * depth / 3))


def test_spread_bad_input():
    with pytest.raises(ValueError, match="grid must be a 2D map"):
        rf.spread(np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        rf.spread(-np.ones((3, 3)))
    with pytest.raises(ValueError, match="all zeros"):
        rf.spread(np.zeros((3, 3)))


@given(st.integers(1, 40), st.integers(1, 45), st.sampled_from([1, 3, 5]))
def test_valid_tap_fraction_equals_brute_force_count(size, rate, k):
    half = (k - 1) // 2
    inside = 0
    for i, j in itertools.product(range(size), repeat=2):
        for p, q in itertools.product(range(-half, half + 1), repeat=2):
            inside += 0 <= i + p * rate < size and 0 <= j + q * rate < size
    assert rf.valid_tap_fraction(size, rate, k) == pytest.approx(inside / (size * size * k * k))


def test_valid_tap_fraction_degenerates_to_the_centre_tap():
    assert rf.valid_tap_fraction(33, 33) == pytest.approx(1 / 9)
    assert rf.valid_tap_fraction(33, 1) > 0.9
    with pytest.raises(ValueError, match="rate must be >= 1, got 0"):
        rf.valid_tap_fraction(33, 0)
