"""Non-finite numbers flow through the fast path exactly as through the definition and PyTorch.

A tap that falls on padding multiplies a zero: with an infinite or NaN weight that product is NaN
(IEEE 754), so the fast path may not skip padded taps. Issue 13's reproducer: fast conv1d with an
infinite weight and zero padding gave [1, 2, inf, ...] where the naive loops and PyTorch give
[nan, nan, inf, ...].
"""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.conv import conv1d, conv2d


def _same(a, b):
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(np.nan_to_num(a, nan=0.0), np.nan_to_num(b, nan=0.0), rtol=1e-12, atol=1e-12)


def test_issue_13_reproducer():
    x = np.arange(1.0, 9.0)
    w = np.array([np.inf, 1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 * inf: the NaN is the point
        fast = conv1d(x, w, padding=2)
        naive = conv1d(x, w, padding=2, method="naive")
    torch_y = F.conv1d(torch.from_numpy(x)[None, None], torch.from_numpy(w)[None, None], padding=2)[0, 0].numpy()
    assert np.isnan(fast[:2]).all() and np.isinf(fast[2:]).all()
    _same(fast, torch_y)
    _same(fast, naive)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("where", ["weight", "input"])
@pytest.mark.parametrize("padding", ["causal", "same", (3, 5), 0, (0, 7)])
def test_conv1d_fast_equals_naive_and_pytorch_with_non_finite_values(bad, where, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 20))
    w = rng.standard_normal((4, 3, 3))
    if where == "weight":
        w[1, 2, 0] = bad  # the first tap: on the padding of every causal/left-padded output
    else:
        x[0, 1, 5] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fast = conv1d(x, w, padding=padding, dilation=3)
        naive = conv1d(x, w, padding=padding, dilation=3, method="naive")
    xt = torch.from_numpy(x)
    left, right = {"causal": (6, 0), "same": (3, 3), 0: (0, 0)}.get(padding, padding)
    reference = F.conv1d(F.pad(xt, (left, right)), torch.from_numpy(w), dilation=3).numpy()
    _same(fast, reference)
    _same(fast, naive)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_conv2d_fast_equals_pytorch_with_a_non_finite_weight(bad):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 9, 11))
    w = rng.standard_normal((3, 2, 3, 3))
    w[2, 1, 0, 2] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fast = conv2d(x, w, padding="same", dilation=2)
    reference = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding="same", dilation=2).numpy()
    _same(fast, reference)
