"""Chapter 1's formulas: dilate_kernel, effective_kernel_size, conv_output_size."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from course_utils.conv import conv_output_size, dilate_kernel, effective_kernel_size


def test_effective_kernel_size_values():
    assert [effective_kernel_size(3, d) for d in (1, 2, 4, 8, 16)] == [3, 5, 9, 17, 33]
    assert effective_kernel_size(1, 100) == 1
    assert effective_kernel_size(2, 512) == 513


@given(st.integers(1, 9), st.integers(1, 12))
def test_effective_kernel_size_is_the_span_of_the_zero_inserted_kernel(k, d):
    taps = np.flatnonzero(dilate_kernel(np.arange(1, k + 1), d))
    assert len(taps) == k
    assert taps[-1] - taps[0] + 1 == effective_kernel_size(k, d)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((0, 1), ValueError, "kernel_size must be >= 1, got 0"),
        ((3, 0), ValueError, "dilation must be >= 1, got 0"),
        ((3, 1.5), TypeError, r"dilation must be an integer, got 1.5 \(float\)"),
        (("3", 1), TypeError, "kernel_size must be an integer, got '3'"),
        ((3, True), TypeError, "dilation must be an integer, got True"),
    ],
)
def test_effective_kernel_size_rejects_bad_input(args, error, message):
    with pytest.raises(error, match=message):
        effective_kernel_size(*args)


def test_dilate_kernel_seed_003_example():
    kernel = np.array([[10, -8], [15, -2]])
    expected = np.array([[10, 0, -8], [0, 0, 0], [15, 0, -2]])
    np.testing.assert_array_equal(dilate_kernel(kernel, 2), expected)
    assert dilate_kernel(kernel, 2).dtype == kernel.dtype


def test_dilate_kernel_axes_rules():
    w = np.ones((4, 3, 2, 2))  # OIHW: an int dilates the last two axes
    assert dilate_kernel(w, 3).shape == (4, 3, 4, 4)
    assert dilate_kernel(np.ones((4, 3, 5)), (2,)).shape == (4, 3, 9)  # (O, C, K) with a 1-tuple
    assert dilate_kernel(np.ones((3, 3)), (1, 2)).shape == (3, 5)  # anisotropic
    np.testing.assert_array_equal(dilate_kernel([1, 2, 3], 3), [1, 0, 0, 2, 0, 0, 3])


def test_dilate_kernel_rejects_bad_input():
    with pytest.raises(ValueError, match="dilation must be >= 1, got 0"):
        dilate_kernel(np.ones((3, 3)), 0)
    with pytest.raises(ValueError, match="scalar"):
        dilate_kernel(5.0, 2)
    with pytest.raises(ValueError, match="names more axes than w has"):
        dilate_kernel(np.ones(3), (2, 2))
    with pytest.raises(ValueError, match="at least one tap"):
        dilate_kernel(np.ones((2, 0)), 2)


@given(
    n=st.integers(1, 40),
    k=st.integers(1, 6),
    s=st.integers(1, 4),
    p=st.integers(0, 4),
    d=st.integers(1, 5),
)
def test_conv_output_size_matches_brute_force_and_pytorch(n, k, s, p, d):
    span = (k - 1) * d + 1
    if span > n + 2 * p:
        with pytest.raises(ValueError, match="spans"):
            conv_output_size(n, k, s, p, d)
        return
    brute = sum(1 for start in range(0, n + 2 * p, s) if start + span <= n + 2 * p)
    shape = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[-1]
    assert conv_output_size(n, k, s, p, d) == brute == shape


def test_conv_output_size_asymmetric_padding_and_errors():
    assert conv_output_size(10, 3, padding=(4, 0), dilation=2) == 10  # causal: length kept
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        conv_output_size(10, 3, stride=0)
    with pytest.raises(ValueError, match="padding must be >= 0, got -1"):
        conv_output_size(10, 3, padding=-1)
    with pytest.raises(ValueError, match=r"kernel_size=3 at dilation=8 spans 17 samples, more than the padded input"):
        conv_output_size(10, 3, dilation=8)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        conv_output_size(0, 1)
