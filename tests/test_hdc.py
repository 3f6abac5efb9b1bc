"""The whole HDC criterion of Wang et al. (2018), rule by rule, against exact hole counts."""

import itertools
from math import gcd

import numpy as np
import pytest

from course_utils import receptive_field as rf


@pytest.mark.parametrize(
    ("rates", "m2", "factor", "failed", "holes_1d"),
    [
        ((1, 2, 5), 2, 1, (), []),  # the paper's working example
        ((1, 2, 3), 2, 1, (), []),  # the sawtooth group
        ((1, 2, 9), 5, 1, ("M2 <= K",), [-5, -4, 4, 5]),  # the paper's failing example
        ((2, 2, 2, 2), 2, 2, ("no common factor",), list(range(-7, 8, 2))),  # M2 alone would pass it
        ((2, 4, 8), 4, 2, ("M2 <= K", "no common factor"), None),  # both rules fail
    ],
)
def test_required_verdicts_with_the_rule_that_failed(rates, m2, factor, failed, holes_1d):
    verdict = rf.hdc(rates)
    assert (verdict.m2, verdict.common_factor, verdict.failed) == (m2, factor, failed)
    assert verdict.m2_ok is (m2 <= 3)
    assert verdict.ok is (not failed)
    assert ("M2 = " in verdict.reason and ">" in verdict.reason) is ("M2 <= K" in failed)
    assert (f"common factor {factor}" in verdict.reason) is (factor > 1)
    holes = rf.holes(rates).tolist()
    if holes_1d is not None:
        assert holes == holes_1d
    # On these five the whole criterion and the exact hole count agree.
    assert verdict.ok is (not holes)


def test_reason_and_short_name_the_failed_rule():
    assert rf.hdc((1, 2, 9)).reason == "fails: M2 = 5 > K = 3"
    assert rf.hdc((2, 2, 2, 2)).reason == "fails: the rates share the common factor 2"
    assert rf.hdc((2, 4, 8)).short == "fail: M2 > 3, factor 2"
    assert rf.hdc((1, 2, 5)).short == "pass"


def test_first_rate_not_one_passes_both_rules_yet_leaves_holes():
    verdict = rf.hdc((2, 3, 5))
    assert verdict.ok and not verdict.starts_at_one and verdict.short == "pass (r1 = 2)"
    assert "starts at rate 2" in verdict.reason and "course reads the paper's examples" in verdict.reason
    assert rf.holes((2, 3, 5)).tolist() == [-9, 9]
    assert rf.describe((2, 3, 5)).holes_2d == 21 * 21 - 19 * 19


def test_m2_is_the_papers_bound_not_the_largest_gap():
    """(1, 3, 1): layers (3, 1) reach every offset from -4 to 4 (largest gap 1), yet M_2 = 5."""
    reached = np.flatnonzero(rf.path_counts((3, 1))) - 4
    assert reached.tolist() == list(range(-4, 5)) and np.diff(reached).max() == 1
    assert rf.hdc_max_distance((1, 3, 1)) == 5 and not rf.hdc((1, 3, 1)).m2_ok


def test_sufficient_not_necessary():
    # (1, 3, 1) fails M2 <= 3 yet every offset is reached.
    assert not rf.hdc((1, 3, 1)).ok and not rf.has_gridding((1, 3, 1))


@pytest.mark.parametrize(("n", "top"), [(2, 12), (3, 10), (4, 6)])
def test_brute_force_agreement_over_all_schedules(n, top):
    """Starting at rate 1, passing HDC implies no holes; without that assumption it does not."""
    passes_with_holes_r1 = passes_with_holes = fails_without_holes = 0
    for rates in itertools.product(range(1, top + 1), repeat=n):
        verdict = rf.hdc(rates)
        gridding = rf.has_gridding(rates)
        assert verdict.common_factor == gcd(*rates)
        assert verdict.m2 == rf.hdc_max_distance(rates)
        if rates[0] == 1:
            assert verdict.common_factor == 1  # rule 2 can only bite when r1 != 1
            passes_with_holes_r1 += verdict.ok and gridding
        passes_with_holes += verdict.ok and gridding
        fails_without_holes += (not verdict.ok) and (not gridding)
        if verdict.common_factor > 1:
            assert gridding  # a shared factor always leaves holes
    assert passes_with_holes_r1 == 0
    assert passes_with_holes > 0  # e.g. (2, 3, 5): the first-rate assumption matters
    if n >= 3:
        assert fails_without_holes > 0  # e.g. (1, 3, 1): sufficient, not necessary


def test_describe_and_report_table_carry_the_whole_verdict():
    report = rf.describe((2, 2, 2, 2))
    assert report.hdc_m2 == 2 and not report.hdc_ok and report.hdc.failed == ("no common factor",)
    table = rf.report_table({"repeated": (2, 2, 2, 2), "HDC": (1, 2, 5)}).splitlines()
    assert table[0].split()[-3:] == ["M2", "gcd", "HDC"]
    assert table[2].endswith("2    2  fail: factor 2")
    assert table[3].endswith("2    1  pass")


def test_single_layer_and_other_kernels():
    assert rf.hdc((1,)).ok and not rf.hdc((3,)).ok
    assert rf.hdc((1, 5), kernel_size=5).ok and not rf.has_gridding((1, 5), kernel_size=5)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (((),), ValueError, r"dilations must not be empty"),
        (((1, 0),), ValueError, r"dilations\[1\] must be >= 1, got 0"),
        ((["a"],), TypeError, r"dilations\[0\] must be an integer, got 'a'"),
        ((3,), TypeError, r"dilations must be a sequence of integers, got 3"),
        (((1, 2), 4), ValueError, r"kernel_size must be odd.*kernel_size=4"),
        (((1, 2), 2.5), TypeError, r"kernel_size must be an integer, got 2.5"),
    ],
)
def test_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        rf.hdc(*args)
