"""course_utils.conv == PyTorch == Keras; layout round trips; TensorFlow's 'same' split."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from course_utils import conv, tf_bridge

SEED_IMAGE = np.array([[4, 5, 8, 7], [1, 8, 8, 8], [3, 6, 6, 4], [6, 5, 7, 8]], dtype=np.float32)
SEED_KERNEL = np.array([[10, -8], [15, -2]], dtype=np.float32)


def test_seed_003_numbers_four_ways():
    regular = [[-1, 90, 128], [-21, 94, 98], [62, 73, 117]]
    dilated = [[9, 76], [22, 75]]
    x_nhwc = SEED_IMAGE[None, :, :, None]
    w_hwio = SEED_KERNEL[:, :, None, None]
    np.testing.assert_array_equal(tf_bridge.keras_conv2d(x_nhwc, w_hwio)[0, :, :, 0], regular)
    np.testing.assert_array_equal(tf_bridge.keras_conv2d(x_nhwc, w_hwio, dilation_rate=2)[0, :, :, 0], dilated)
    zero_inserted = conv.dilate_kernel(SEED_KERNEL, 2)[:, :, None, None]
    np.testing.assert_array_equal(tf_bridge.keras_conv2d(x_nhwc, zero_inserted)[0, :, :, 0], dilated)
    np.testing.assert_array_equal(conv.conv2d(SEED_IMAGE, SEED_KERNEL), regular)
    np.testing.assert_array_equal(conv.conv2d(SEED_IMAGE, SEED_KERNEL, dilation=2), dilated)
    torch_out = F.conv2d(
        torch.from_numpy(SEED_IMAGE)[None, None], torch.from_numpy(SEED_KERNEL)[None, None], dilation=2
    )
    np.testing.assert_array_equal(torch_out[0, 0].numpy(), dilated)


@given(st.lists(st.integers(1, 4), min_size=3, max_size=4))
def test_layout_round_trips(shape):
    w = np.arange(np.prod(shape), dtype=float).reshape(shape)
    keras_w = tf_bridge.torch_to_keras_kernel(w)
    assert keras_w.shape == (
        (shape[2], shape[3], shape[1], shape[0]) if len(shape) == 4 else (shape[2], shape[1], shape[0])
    )
    np.testing.assert_array_equal(tf_bridge.keras_to_torch_kernel(keras_w), w)
    np.testing.assert_array_equal(tf_bridge.channels_first(tf_bridge.channels_last(w)), w)


def test_layout_bad_input():
    with pytest.raises(
        ValueError, match=r"w must be a 1D kernel stack \(3 axes\) or a 2D one \(4 axes\), got shape \(3, 3\)"
    ):
        tf_bridge.torch_to_keras_kernel(np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"x must be \(N, C, L\) or \(N, C, H, W\), got shape \(5,\)"):
        tf_bridge.channels_last(np.ones(5))


@settings(max_examples=60)
@given(n=st.integers(1, 20), k=st.integers(1, 5), s=st.integers(1, 3), d=st.integers(1, 3))
def test_tf_same_padding_matches_what_tensorflow_pads(n, k, s, d):
    before, after = tf_bridge.tf_same_padding(n, k, s, d)
    assume((k - 1) * d + 1 <= n + before + after)
    rng = np.random.default_rng(n * 1000 + k * 100 + s * 10 + d)
    x = rng.standard_normal((1, n, 1, 1)).astype(np.float64)
    w = rng.standard_normal((k, 1, 1, 1)).astype(np.float64)
    tf_out = tf_bridge.tf_nn_conv2d(x, w, strides=(s, 1), padding="SAME", dilations=(d, 1))[0, :, 0, 0]
    ours = conv.conv1d(x[0, :, 0, 0], w[:, 0, 0, 0], padding=(before, after), stride=s, dilation=d)
    assert tf_out.shape == ours.shape == (-(-n // s),)
    np.testing.assert_allclose(tf_out, ours, rtol=1e-10, atol=1e-10)


def test_tf_same_padding_values():
    assert tf_bridge.tf_same_padding(7, 2) == (0, 1)  # odd pixel after, like PyTorch
    assert tf_bridge.tf_same_padding(8, 3, stride=2) == (0, 1)  # stride 2: depends on n
    assert tf_bridge.tf_same_padding(9, 3, stride=2) == (1, 1)
    assert tf_bridge.tf_same_padding(10, 3, dilation=4) == (4, 4)
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        tf_bridge.tf_same_padding(10, 3, stride=0)


@settings(max_examples=50)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    o=st.integers(1, 3),
    h=st.integers(4, 12),
    w_=st.integers(4, 12),
    k=st.integers(1, 3),
    d=st.integers(1, 4),
    padding=st.sampled_from(["valid", "same"]),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_conv2d_numpy_pytorch_keras_agree(n, c, o, h, w_, k, d, padding, bias, seed):
    assume(padding == "same" or (k - 1) * d + 1 <= min(h, w_))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w_))
    w = rng.standard_normal((o, c, k, k))
    b = rng.standard_normal(o) if bias else None
    ours = conv.conv2d(x, w, b, padding=padding, dilation=d)
    ref = F.conv2d(
        torch.from_numpy(x),
        torch.from_numpy(w),
        None if b is None else torch.from_numpy(b),
        padding=padding,
        dilation=d,
    )
    keras = tf_bridge.keras_conv2d(
        tf_bridge.channels_last(x), tf_bridge.torch_to_keras_kernel(w), b, padding=padding, dilation_rate=d
    )
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(tf_bridge.channels_first(keras), ours, rtol=1e-9, atol=1e-9)


@settings(max_examples=50)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    o=st.integers(1, 3),
    length=st.integers(4, 30),
    k=st.integers(1, 4),
    d=st.integers(1, 4),
    padding=st.sampled_from(["valid", "same", "causal"]),
    seed=st.integers(0, 2**16),
)
def test_conv1d_numpy_pytorch_keras_agree(n, c, o, length, k, d, padding, seed):
    assume(padding != "valid" or (k - 1) * d + 1 <= length)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, length))
    w = rng.standard_normal((o, c, k))
    b = rng.standard_normal(o)
    ours = conv.conv1d(x, w, b, padding=padding, dilation=d)
    xt = torch.from_numpy(x)
    if padding == "causal":
        ref = F.conv1d(F.pad(xt, ((k - 1) * d, 0)), torch.from_numpy(w), torch.from_numpy(b), dilation=d)
    else:
        ref = F.conv1d(xt, torch.from_numpy(w), torch.from_numpy(b), padding=padding, dilation=d)
    keras = tf_bridge.keras_conv1d(
        tf_bridge.channels_last(x), tf_bridge.torch_to_keras_kernel(w), b, padding=padding, dilation_rate=d
    )
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(tf_bridge.channels_first(keras), ours, rtol=1e-9, atol=1e-9)


def test_stride_with_dilation_everywhere():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 11, 11)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"Keras refuses strides > 1 together with dilation_rate > 1"):
        tf_bridge.keras_conv2d(
            tf_bridge.channels_last(x), tf_bridge.torch_to_keras_kernel(w), strides=2, dilation_rate=2
        )
    torch_out = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=2, dilation=2).numpy()
    ours = conv.conv2d(x, w, stride=2, dilation=2)
    tf_out = tf_bridge.channels_first(
        tf_bridge.tf_nn_conv2d(tf_bridge.channels_last(x), tf_bridge.torch_to_keras_kernel(w), strides=2, dilations=2)
    )
    keras_then_subsample = tf_bridge.channels_first(
        tf_bridge.keras_conv2d(tf_bridge.channels_last(x), tf_bridge.torch_to_keras_kernel(w), dilation_rate=2)
    )[:, :, ::2, ::2]
    for other in (ours, tf_out, keras_then_subsample):
        np.testing.assert_allclose(other, torch_out, rtol=1e-5, atol=1e-5)


def test_keras_helpers_bad_input():
    with pytest.raises(ValueError, match=r"padding must be one of \('valid', 'same'\) for Keras Conv2D, got 'causal'"):
        tf_bridge.keras_conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), padding="causal")
    with pytest.raises(ValueError, match=r"channel mismatch: x has C=2 channels but w expects 1"):
        tf_bridge.keras_conv2d(np.ones((1, 5, 5, 2)), np.ones((3, 3, 1, 1)))
    with pytest.raises(ValueError, match=r"x must be \(N, L, C\) and w \(K, C, O\) \(Keras layout\)"):
        tf_bridge.keras_conv1d(np.ones((5, 1)), np.ones((3, 1, 1)))
    with pytest.raises(ValueError, match=r"padding must be 'VALID' or 'SAME' for tf.nn.conv2d, got 'same'"):
        tf_bridge.tf_nn_conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), padding="same")


def test_tf_bridge_import_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys, course_utils.tf_bridge as t; t.tf_same_padding(5, 3); print('tensorflow' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def test_importing_tensorflow_through_course_utils_is_silent():
    import subprocess
    import sys

    code = "import course_utils.tf_bridge as t, numpy as np; t.keras_conv1d(np.ones((1, 4, 1)), np.ones((2, 1, 1)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stderr == "" and result.stdout == ""
