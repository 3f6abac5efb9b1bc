"""conv1d / conv2d: naive == fast == PyTorch == scipy, every padding word, every bad input."""

import numpy as np
import pytest
import scipy.signal
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from course_utils import conv
from course_utils.conv import conv1d, conv2d

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


def _torch_padding(padding, ndim):
    """PyTorch takes ints and 'same'/'valid'; explicit (before, after) amounts go through F.pad."""
    if isinstance(padding, str) and padding != "causal":
        return padding, None
    if padding == "causal":
        return 0, "causal"
    if isinstance(padding, int):
        return padding, None
    if ndim == 1:
        return 0, padding  # (left, right)
    if all(isinstance(p, int) for p in padding):
        return tuple(padding), None
    (top, bottom), (left, right) = padding
    return 0, (left, right, top, bottom)


def _reference(x, w, b, stride, padding, dilation):
    ndim = x.ndim - 2
    pad_arg, explicit = _torch_padding(padding, ndim)
    xt = torch.from_numpy(x)
    if explicit == "causal":
        xt = F.pad(xt, ((w.shape[-1] - 1) * dilation, 0))
    elif explicit is not None:
        xt = F.pad(xt, explicit)
    fn = F.conv1d if ndim == 1 else F.conv2d
    bt = None if b is None else torch.from_numpy(b)
    return fn(xt, torch.from_numpy(w), bt, stride=stride, padding=pad_arg, dilation=dilation).numpy()


paddings_1d = st.one_of(
    st.integers(0, 3),
    st.sampled_from(["valid", "same", "causal"]),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
)
paddings_2d = st.one_of(
    st.integers(0, 3),
    st.sampled_from(["valid", "same"]),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.tuples(st.integers(0, 2), st.integers(0, 2)), st.tuples(st.integers(0, 2), st.integers(0, 2))),
)


@settings(max_examples=300)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    o=st.integers(1, 3),
    length=st.integers(1, 24),
    k=st.integers(1, 4),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 4),
    padding=paddings_1d,
    dtype=st.sampled_from([np.float32, np.float64]),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_conv1d_naive_fast_pytorch_agree(n, c, o, length, k, stride, dilation, padding, dtype, bias, seed):
    if padding == "same":
        stride = 1
    pads = {"valid": (0, 0), "same": (0, (k - 1) * dilation), "causal": ((k - 1) * dilation, 0)}.get(padding, padding)
    total = sum(pads) if isinstance(pads, tuple) else 2 * pads
    assume((k - 1) * dilation + 1 <= length + total)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, length)).astype(dtype)
    w = rng.standard_normal((o, c, k)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    fast = conv1d(x, w, b, **kwargs)
    naive = conv1d(x, w, b, method="naive", **kwargs)
    ref = _reference(x, w, b, stride, padding, dilation)
    assert fast.dtype == naive.dtype == dtype
    assert fast.shape == naive.shape == ref.shape
    np.testing.assert_allclose(fast, ref, **TOL[dtype])
    np.testing.assert_allclose(naive, ref, **TOL[dtype])


@settings(max_examples=300)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    o=st.integers(1, 3),
    h=st.integers(1, 12),
    wd=st.integers(1, 12),
    kh=st.integers(1, 3),
    kw=st.integers(1, 3),
    stride=st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))),
    dilation=st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))),
    padding=paddings_2d,
    dtype=st.sampled_from([np.float32, np.float64]),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_conv2d_naive_fast_pytorch_agree(n, c, o, h, wd, kh, kw, stride, dilation, padding, dtype, bias, seed):
    if padding == "same":
        stride = 1
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    if padding == "valid":
        ph = pw = 0
    elif padding == "same":
        ph, pw = (kh - 1) * dh, (kw - 1) * dw
    elif isinstance(padding, int):
        ph = pw = 2 * padding
    elif isinstance(padding[0], int):
        ph, pw = 2 * padding[0], 2 * padding[1]
    else:
        ph, pw = sum(padding[0]), sum(padding[1])
    assume((kh - 1) * dh + 1 <= h + ph and (kw - 1) * dw + 1 <= wd + pw)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, wd)).astype(dtype)
    w = rng.standard_normal((o, c, kh, kw)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    fast = conv2d(x, w, b, **kwargs)
    naive = conv2d(x, w, b, method="naive", **kwargs)
    ref = _reference(x, w, b, stride, padding, dilation)
    assert fast.dtype == naive.dtype == dtype
    assert fast.shape == naive.shape == ref.shape
    np.testing.assert_allclose(fast, ref, **TOL[dtype])
    np.testing.assert_allclose(naive, ref, **TOL[dtype])


@settings(max_examples=100)
@given(
    length=st.integers(8, 40),
    k=st.integers(1, 5),
    dilation=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_single_channel_1d_matches_scipy_correlate(length, k, dilation, seed):
    assume((k - 1) * dilation + 1 <= length)
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(length), rng.standard_normal(k)
    dense = np.zeros((k - 1) * dilation + 1)
    dense[::dilation] = w
    expected = scipy.signal.correlate(x, dense, mode="valid")
    np.testing.assert_allclose(conv1d(x, w, dilation=dilation), expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(conv1d(x, w, dilation=dilation, method="naive"), expected, rtol=1e-10, atol=1e-10)


@settings(max_examples=100)
@given(
    h=st.integers(5, 14),
    wd=st.integers(5, 14),
    k=st.integers(1, 3),
    dilation=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_single_channel_2d_matches_scipy_correlate2d(h, wd, k, dilation, seed):
    assume((k - 1) * dilation + 1 <= min(h, wd))
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((h, wd)), rng.standard_normal((k, k))
    dense = np.zeros(((k - 1) * dilation + 1,) * 2)
    dense[::dilation, ::dilation] = w
    for padding, mode in (("valid", "valid"), ("same", "same")):
        if padding == "same" and ((k - 1) * dilation) % 2:
            continue  # scipy centres an even-span kernel one sample differently from PyTorch
        expected = scipy.signal.correlate2d(x, dense, mode=mode)
        np.testing.assert_allclose(conv2d(x, w, padding=padding, dilation=dilation), expected, atol=1e-10)


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 6)), min_size=1, max_size=5))
def test_receptive_field_of_a_conv1d_stack_is_one_plus_sum_of_spans(layers):
    """An impulse at every position through a stack of all-ones conv1d layers: the inputs that reach
    y[0] span 1 + sum (k-1)d (their span, not every sample in it: a stack can skip samples, chapter 4)."""
    from course_utils.receptive_field import impulse_extent

    assert impulse_extent([(k, 1, d) for k, d in layers]) == 1 + sum((k - 1) * d for k, d in layers)


def test_same_padding_puts_the_odd_sample_after_like_pytorch():
    x = np.arange(1.0, 8.0)
    w = np.array([1.0, 10.0])  # even kernel: total padding 1, all of it after
    np.testing.assert_array_equal(conv1d(x, w, padding="same"), x + 10 * np.append(x[1:], 0))
    y = conv2d(np.ones((4, 4)), np.ones((2, 2)), padding="same")
    np.testing.assert_array_equal(y[-1], [2, 2, 2, 1])


def test_causal_output_depends_on_the_past_only():
    x = np.zeros(20)
    x[10] = 1.0
    y = conv1d(x, np.ones(3), padding="causal", dilation=4)
    assert y.shape == (20,)
    assert np.flatnonzero(y).tolist() == [10, 14, 18]  # never before the impulse


def test_integer_input_is_computed_in_float64_and_lists_are_accepted():
    y = conv2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 0], [0, 1]])
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [[6, 8], [12, 14]])


def test_bias_for_single_signal_may_be_a_scalar():
    np.testing.assert_array_equal(conv1d(np.ones(4), np.ones(2), 0.5), [2.5, 2.5, 2.5])


BAD_1D = [
    (dict(stride=0), ValueError, r"stride must be >= 1, got 0"),
    (dict(stride=1.5), TypeError, r"stride must be an integer, got 1.5"),
    (dict(dilation=0), ValueError, r"dilation must be >= 1, got 0"),
    (dict(dilation=-2), ValueError, r"dilation must be >= 1, got -2"),
    (dict(dilation="2"), TypeError, r"dilation must be an integer, got '2'"),
    (
        dict(padding="full"),
        ValueError,
        r"padding must be an int, a tuple or one of 'valid', 'same' or 'causal'; got 'full'",
    ),
    (dict(padding=-1), ValueError, r"padding must be >= 0, got -1"),
    (dict(padding="same", stride=2), ValueError, r"padding='same' needs stride 1 \(as in PyTorch\), got stride=2"),
    (dict(padding=(1, 2, 3)), ValueError, r"padding must be an int or a pair \(before, after\), got \(1, 2, 3\)"),
    (dict(padding=None), TypeError, r"padding must be an int, a tuple or a word, got None"),
    (
        dict(dilation=20),
        ValueError,
        r"kernel larger than the padded input: 3 taps at dilation 20 span 41 samples, but the input has 10",
    ),
    (dict(method="slow"), ValueError, r"method must be one of \['fast', 'naive'\], got 'slow'"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_1D)
def test_conv1d_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        conv1d(np.ones((1, 2, 10)), np.ones((4, 2, 3)), **kwargs)


def test_conv1d_bad_shapes():
    with pytest.raises(ValueError, match=r"channel mismatch: x has C=2 channels but w expects 3"):
        conv1d(np.ones((1, 2, 10)), np.ones((4, 3, 3)))
    with pytest.raises(
        ValueError, match=r"x must have 1 axes \(one signal\) or 3 axes \(N, C, L\), got x.shape=\(2, 10\)"
    ):
        conv1d(np.ones((2, 10)), np.ones((1, 2, 3)))
    with pytest.raises(ValueError, match=r"for a single signal x of shape \(10,\), w must have 1 axis"):
        conv1d(np.ones(10), np.ones((1, 1, 3)))
    with pytest.raises(ValueError, match=r"w must be \(O, C, K\) for x of shape \(N, C, L\), got w.shape=\(3,\)"):
        conv1d(np.ones((1, 1, 10)), np.ones(3))
    with pytest.raises(ValueError, match=r"b must have shape \(4,\)"):
        conv1d(np.ones((1, 2, 10)), np.ones((4, 2, 3)), np.ones(3))
    with pytest.raises(TypeError, match=r"x must hold real numbers, got dtype <U1"):
        conv1d(np.array(["a", "b"]), np.ones(1))
    with pytest.raises(TypeError, match=r"x must hold real numbers, got dtype complex128"):
        conv1d(np.ones(4, dtype=complex), np.ones(1))
    with pytest.raises(ValueError, match=r"x must not have an empty axis"):
        conv1d(np.ones((1, 1, 0)), np.ones((1, 1, 1)))


def test_conv2d_bad_arguments():
    x, w = np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"padding='causal' is defined for 1D convolutions only"):
        conv2d(x, w, padding="causal")
    with pytest.raises(ValueError, match=r"padding must be an int, a tuple or one of 'valid' or 'same'; got 'full'"):
        conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match=r"dilation must be an integer or a sequence of 2 integers, got \(1, 2, 3\)"):
        conv2d(x, w, dilation=(1, 2, 3))
    with pytest.raises(ValueError, match=r"stride\[1\] must be >= 1, got 0"):
        conv2d(x, w, stride=(1, 0))
    with pytest.raises(ValueError, match=r"kernel larger than the padded input on axis W: 3 taps at dilation 5"):
        conv2d(x, w, dilation=(1, 5))
    with pytest.raises(ValueError, match=r"padding\[0\]\[1\] must be >= 0, got -1"):
        conv2d(x, w, padding=((0, -1), (0, 0)))
    with pytest.raises(ValueError, match=r"padding must be an int or have 2 entries \(one per axis\), got \(1, 1, 1\)"):
        conv2d(x, w, padding=(1, 1, 1))
    with pytest.raises(ValueError, match=r"padding='same' needs stride 1 \(as in PyTorch\), got stride=\(2, 1\)"):
        conv2d(x, w, padding="same", stride=(2, 1))
    with pytest.raises(ValueError, match=r"for a single image x of shape \(8, 8\), w must have 2 axes"):
        conv2d(np.ones((8, 8)), np.ones(3))


def test_reused_padding_workspace_never_leaks_between_calls():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 3, 3, 3))
    first, second = rng.standard_normal((2, 1, 3, 9, 9))
    y_first = conv2d(first, w, padding="same", dilation=2)
    y_second = conv2d(second, w, padding="same", dilation=2)  # same shape: the padded buffer is reused
    np.testing.assert_allclose(y_second, _reference(second, w, None, 1, "same", 2), atol=1e-12)
    np.testing.assert_allclose(y_first, _reference(first, w, None, 1, "same", 2), atol=1e-12)  # not overwritten
    np.testing.assert_allclose(conv2d(second, w, padding=1), _reference(second, w, None, 1, 1, 1), atol=1e-12)


# Block widths of the fast path: chosen by timing, never by the bits -------------------------------


def _widths(inner, o, itemsize, total):
    """Every width the planner may choose for this problem, and two more multiples of the unit."""
    candidates = conv._candidates(inner, o, itemsize, total)
    extra = {candidates[0] + conv._UNIT, 3 * candidates[0]}
    whole = -(-total // conv._UNIT) * conv._UNIT  # one block: the candidate ``total`` itself
    return candidates, sorted({c if c < total else whole for c in candidates} | {w for w in extra if w < total})


def _same_bits_whatever_the_width(fn, x, w, inner, total, **kwargs):
    conv._PLANS.clear()
    candidates, widths = _widths(inner, w.shape[0], x.itemsize, total)
    assert len(candidates) > 1, "the problem is too small for the planner to choose"
    planned = [fn(x, w, **kwargs) for _ in range(4)]  # the first calls mix the candidate widths
    for width in widths:
        with conv._forced_width(width):
            forced = fn(x, w, **kwargs)
        assert forced.tobytes() == planned[0].tobytes(), f"width {width} changed the result"
    assert all(p.tobytes() == planned[0].tobytes() for p in planned[1:])
    np.testing.assert_allclose(
        planned[0], _reference(x, w, None, 1, kwargs["padding"], kwargs["dilation"]), **TOL[x.dtype.type]
    )


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(32, 48),
    o=st.integers(64, 96),
    h=st.integers(28, 48),
    wd=st.integers(28, 48),
    k=st.just(3),
    dilation=st.integers(1, 3),
    padding=st.sampled_from(["same", "valid", 2]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_conv2d_bits_do_not_depend_on_the_block_width(n, c, o, h, wd, k, dilation, padding, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, wd)).astype(dtype)
    w = rng.standard_normal((o, c, k, k)).astype(dtype)
    pad = {"same": (k - 1) * dilation, "valid": 0}.get(padding, 2 * padding)
    span = (k - 1) * dilation
    total = (h + pad - span - 1) * (wd + pad) + wd + pad - span  # output positions at the padded pitch
    assume(len(conv._candidates(k * k * c, o, x.itemsize, total)) > 1)
    _same_bits_whatever_the_width(conv2d, x, w, k * k * c, total, padding=padding, dilation=dilation)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(48, 64),
    o=st.integers(64, 96),
    length=st.integers(1500, 6000),
    k=st.integers(3, 4),
    dilation=st.integers(1, 16),
    padding=st.sampled_from(["causal", "same", "valid"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_conv1d_bits_do_not_depend_on_the_block_width(n, c, o, length, k, dilation, padding, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, length)).astype(dtype)
    w = rng.standard_normal((o, c, k)).astype(dtype)
    total = length - ((k - 1) * dilation if padding == "valid" else 0)
    assume(len(conv._candidates(k * c, o, x.itemsize, total)) > 1)
    _same_bits_whatever_the_width(conv1d, x, w, k * c, total, padding=padding, dilation=dilation)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_benchmark_shapes_give_the_same_bits_at_every_width(dtype):
    rng = np.random.default_rng(3)
    x2 = rng.standard_normal((1, 64, 96, 96)).astype(dtype)
    w2 = rng.standard_normal((64, 64, 3, 3)).astype(dtype)
    _same_bits_whatever_the_width(conv2d, x2, w2, 576, 95 * 100 + 96, padding="same", dilation=2)
    x1 = rng.standard_normal((1, 64, 16000)).astype(dtype)
    w1 = rng.standard_normal((64, 64, 3)).astype(dtype)
    _same_bits_whatever_the_width(conv1d, x1, w1, 192, 16000, padding="causal", dilation=8)


def test_the_planner_times_a_few_widths_then_keeps_one_per_shape():
    conv._PLANS.clear()
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 64, 8000)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3)).astype(np.float32)
    candidates = conv._candidates(192, 64, 4, 8000)
    assert 2 <= len(candidates) <= 3
    assert all(c % conv._UNIT == 0 for c in candidates if c < 8000)
    for _ in range(2 * conv._SAMPLES * len(candidates)):  # planning is bounded: a few calls at most
        conv1d(x, w, padding="causal", dilation=4)
    (plan,) = conv._PLANS.values()
    assert plan.width in candidates
    assert all(count == conv._SAMPLES for count in plan.count.values())
    conv1d(x[:, :, :6000], w, padding="causal", dilation=4)  # another length: a plan of its own
    assert len(conv._PLANS) == 2 and plan.width in candidates
    with pytest.raises(ValueError, match="width must be a multiple of 192, got 100"):
        with conv._forced_width(100):
            pass


@pytest.mark.parametrize("shape", [(2, 3, 16, 32), (1, 5, 7, 9), (2, 4, 1024), (1, 3, 1000)])
def test_channels_last_copy_is_a_plain_transpose(shape):
    x = np.random.default_rng(5).standard_normal(shape)  # planes of 4 KiB go through the staged copy
    first = conv._channels_last(x).copy()
    np.testing.assert_array_equal(first, np.moveaxis(x, 1, -1))
    np.testing.assert_array_equal(conv._channels_last(-x), -first)  # the reused buffer is rewritten
