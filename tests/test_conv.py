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


# Blocks of the fast path: every block edge right, the same bits on any thread count -------------


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 5),
    o=st.integers(1, 5),
    h=st.integers(5, 20),
    wd=st.integers(5, 20),
    k=st.integers(1, 3),
    dilation=st.integers(1, 3),
    padding=st.sampled_from(["same", "valid", 2, (1, 3)]),
    width=st.integers(1, 70),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_conv2d_is_right_at_every_block_edge(n, c, o, h, wd, k, dilation, padding, width, dtype, seed):
    """Blocks of any width (1 position, a few, a rest that joins the block before it) give PyTorch's result."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, wd)).astype(dtype)
    w = rng.standard_normal((o, c, k, k)).astype(dtype)
    assume((k - 1) * dilation + 1 <= min(h, wd))
    with conv._forced_width(width):
        y = conv2d(x, w, padding=padding, dilation=dilation)
    np.testing.assert_allclose(y, _reference(x, w, None, 1, padding, dilation), **TOL[dtype])


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 5),
    o=st.integers(1, 5),
    length=st.integers(1, 90),
    k=st.integers(1, 4),
    dilation=st.integers(1, 12),
    padding=st.sampled_from(["causal", "same", "valid", (5, 0), (0, 7)]),
    width=st.integers(1, 40),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_conv1d_is_right_at_every_block_edge(n, c, o, length, k, dilation, padding, width, dtype, seed):
    """In 1D a block's taps may fall in the padding on the left, the right or both: zeros, exactly there."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, length)).astype(dtype)
    w = rng.standard_normal((o, c, k)).astype(dtype)
    span = (k - 1) * dilation + 1
    assume(padding != "valid" or span <= length)
    assume(not isinstance(padding, tuple) or span <= length + sum(padding))
    with conv._forced_width(width):
        y = conv1d(x, w, padding=padding, dilation=dilation)
    np.testing.assert_allclose(y, _reference(x, w, None, 1, padding, dilation), **TOL[dtype])


def test_block_width_follows_the_working_set_and_never_exceeds_the_problem():
    # float32, 64 channels, 3x3: K C = 576 column values and 64 outputs per position, 2560 bytes
    assert conv._block_width(576, 64, 4, 10**6) == 2 * 1024 * 1024 // 2560 // 64 * 64 == 768
    assert conv._block_width(192, 64, 4, 10**6) == 2048  # the benchmark's 1D shape
    assert conv._block_width(576, 64, 8, 10**6) == 384  # float64: half as many positions
    assert conv._block_width(576, 64, 4, 100) == 100  # a small problem is one block
    assert conv._block_width(10**6, 64, 8, 10**6) == 64  # a huge K C still gets whole rows of 64
    assert [b for b in conv._blocks(64, 200)] == [(0, 64), (64, 128), (128, 200)]  # a rest of 8 joins
    assert [b for b in conv._blocks(64, 224)] == [(0, 64), (64, 128), (128, 192), (192, 224)]
    with pytest.raises(ValueError, match="width must be >= 1, got 0"):
        with conv._forced_width(0):
            pass


_THREADS_CHILD = """
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
from course_utils import conv
rng = np.random.default_rng(3)
cases = [(rng.standard_normal((1, 64, 96, 96)).astype(np.float32), rng.standard_normal((64, 64, 3, 3)).astype(np.float32)),
         (rng.standard_normal((1, 64, 16000)).astype(np.float32), rng.standard_normal((64, 64, 3)).astype(np.float32))]
def run():
    return [(conv.conv2d(x, w, padding="same", dilation=2) if x.ndim == 4 else conv.conv1d(x, w, padding="causal", dilation=8)).tobytes()
            for x, w in cases]
with threadpool_limits(1):
    one = run()
with threadpool_limits(2):
    two = run()
kernel = ";".join(str(i.get("architecture")) for i in threadpool_info() if i.get("user_api") == "blas")
print(kernel, [a == b for a, b in zip(one, two)])
"""


@pytest.mark.parametrize("coretype", [None, "Haswell"])
def test_the_same_bits_on_one_and_two_blas_threads(coretype):
    """Two BLAS threads split a product where their count says, which moves the last bits (seen on
    OpenBLAS's Haswell kernel); the fast path runs big products on one thread. Run in a child so
    that the child alone sees OPENBLAS_CORETYPE (an AVX2 laptop's kernel on any x86 machine)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "OMP_", "MKL_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    if coretype is not None:
        env["OPENBLAS_CORETYPE"] = coretype
    done = subprocess.run([sys.executable, "-c", _THREADS_CHILD], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    kernel, same = done.stdout.strip().split(" ", 1)
    if coretype is not None and coretype.lower() not in kernel.lower():  # not OpenBLAS, or not x86
        pytest.skip(f"this BLAS cannot run the {coretype} kernel: {kernel}")
    assert same == "[True, True]", f"bits changed with the BLAS thread count under {kernel} (2D, 1D): {same}"
