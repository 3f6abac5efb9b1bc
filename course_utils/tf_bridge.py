"""Between PyTorch and Keras: kernel layouts, TensorFlow's 'same' padding, Keras layers with given weights.

Conventions (both frameworks compute cross-correlation; only the memory order differs):

=========  ==========================  ==========================
           PyTorch                     Keras / TensorFlow
=========  ==========================  ==========================
input 2D   NCHW  (N, C, H, W)          NHWC  (N, H, W, C)
kernel 2D  OIHW  (O, C, kh, kw)        HWIO  (kh, kw, C, O)
input 1D   NCL   (N, C, L)             NLC   (N, L, C)
kernel 1D  OIK   (O, C, K)             KIO   (K, C, O)
=========  ==========================  ==========================

The layout functions are NumPy only. TensorFlow is imported by the Keras helpers on first use,
after ``course_utils`` has set ``TF_CPP_MIN_LOG_LEVEL`` and ``TF_ENABLE_ONEDNN_OPTS`` (so importing it
prints nothing), and Keras' random seed is set from ``course_utils.SEED``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ._checks import check_array, check_int, check_int_tuple
from .conv import effective_kernel_size

__all__ = [
    "channels_first",
    "channels_last",
    "frameworks",
    "keras_conv1d",
    "keras_conv2d",
    "keras_to_torch_kernel",
    "tf_nn_conv2d",
    "tf_same_padding",
    "torch_to_keras_kernel",
]

_TF: Any = None


def frameworks() -> tuple[Any, Any]:
    """Import TensorFlow and Keras once, quietly, on the course's threads; seed Keras (Python, NumPy, TF)."""
    global _TF
    if _TF is None:
        import keras
        import tensorflow as tf

        from . import SEED, limit_threads  # importing course_utils already set the quiet-log variables

        limit_threads()  # the course's thread policy, before TensorFlow runs its first op
        keras.utils.set_random_seed(SEED)
        _TF = (tf, keras)
    return _TF


def _as_kernel(name: str, w: Any) -> np.ndarray:
    w = check_array(name, w, allow_empty=True)
    if w.ndim not in (3, 4):
        raise ValueError(f"{name} must be a 1D kernel stack (3 axes) or a 2D one (4 axes), got shape {w.shape}")
    return w


def torch_to_keras_kernel(w: Any) -> np.ndarray:
    """OIHW -> HWIO (2D) or (O, C, K) -> (K, C, O) (1D). A contiguous copy, same values."""
    w = _as_kernel("w", w)
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0) if w.ndim == 4 else w.transpose(2, 1, 0))


def keras_to_torch_kernel(w: Any) -> np.ndarray:
    """HWIO -> OIHW (2D) or (K, C, O) -> (O, C, K) (1D): the inverse of ``torch_to_keras_kernel``."""
    w = _as_kernel("w", w)
    return np.ascontiguousarray(w.transpose(3, 2, 0, 1) if w.ndim == 4 else w.transpose(2, 1, 0))


def channels_last(x: Any) -> np.ndarray:
    """NCHW -> NHWC, or NCL -> NLC."""
    x = check_array("x", x, allow_empty=True)
    if x.ndim not in (3, 4):
        raise ValueError(f"x must be (N, C, L) or (N, C, H, W), got shape {x.shape}")
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))


def channels_first(x: Any) -> np.ndarray:
    """NHWC -> NCHW, or NLC -> NCL."""
    x = check_array("x", x, allow_empty=True)
    if x.ndim not in (3, 4):
        raise ValueError(f"x must be (N, L, C) or (N, H, W, C), got shape {x.shape}")
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def tf_same_padding(n: int, kernel_size: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's (before, after) split for padding='same' along one axis.

    ``out = ceil(n / s)``; ``total = max((out - 1) s + d (k - 1) + 1 - n, 0)``; ``before = total // 2``,
    the odd pixel goes after. At stride 1 the total is ``d (k - 1)`` and the split equals
    PyTorch's; at stride > 1 it depends on ``n``, which is why PyTorch refuses 'same' there.
    """
    n = check_int("n", n)
    stride = check_int("stride", stride)
    span = effective_kernel_size(kernel_size, dilation)
    out = -(-n // stride)
    total = max((out - 1) * stride + span - n, 0)
    return (total // 2, total - total // 2)


def _as_tf_float(x: Any) -> np.ndarray:
    """float64 stays float64 (exact comparisons); everything else runs in float32, Keras' default."""
    x = np.asarray(x)
    return x if x.dtype == np.float64 else x.astype(np.float32)


def _check_tf_arguments(
    x: Any, w: Any, b: Any, ndim: int, strides: Any, dilations: Any, valid: bool, names: tuple[str, str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, tuple[int, ...], tuple[int, ...]]:
    """Validate channels-last ``x``, kernel ``w`` and bias ``b`` before TensorFlow sees them.

    ``names`` are the caller's words for strides and dilation, so the error names the argument the
    learner typed. Returns float arrays (x's dtype) and the per-axis strides and dilations.
    """
    x = _as_tf_float(check_array("x", x))
    w = check_array("w", w).astype(x.dtype, copy=False)
    if x.ndim != ndim + 2 or w.ndim != ndim + 2:
        layout = "(N, L, C) and w (K, C, O)" if ndim == 1 else "(N, H, W, C) and w (kh, kw, C, O)"
        raise ValueError(f"x must be {layout} (Keras layout), got x.shape={x.shape}, w.shape={w.shape}")
    if w.shape[-2] != x.shape[-1]:
        raise ValueError(
            f"channel mismatch: x has C={x.shape[-1]} channels but w expects {w.shape[-2]} (w.shape={w.shape})"
        )
    step = check_int_tuple(names[0], strides, ndim)
    rates = check_int_tuple(names[1], dilations, ndim)
    if valid:
        for axis, (n, k, d) in enumerate(zip(x.shape[1:-1], w.shape[:ndim], rates, strict=True)):
            span = (k - 1) * d + 1
            if span > n:
                raise ValueError(
                    f"kernel larger than the input on axis {axis + 1} of x (shape {x.shape}): {k} taps at "
                    f"{names[1]}={d} span {span} samples; use padding 'same' or a longer input"
                )
    if b is not None:
        b = check_array("b", b, ndim=1).astype(x.dtype, copy=False)
        if b.shape != (w.shape[-1],):
            raise ValueError(f"b must have shape ({w.shape[-1]},) (one bias per output channel), got {b.shape}")
    return x, w, b, step, rates


def _keras_conv(
    layer_cls: str,
    x: Any,
    w: Any,
    b: Any,
    strides: Any,
    padding: str,
    dilation_rate: Any,
) -> np.ndarray:
    ndim = 1 if layer_cls == "Conv1D" else 2
    words = ("valid", "same", "causal") if ndim == 1 else ("valid", "same")
    if not isinstance(padding, str) or padding not in words:
        raise ValueError(f"padding must be one of {words} for Keras {layer_cls}, got {padding!r}")
    x, w, b, strides, rates = _check_tf_arguments(
        x, w, b, ndim, strides, dilation_rate, padding == "valid", ("strides", "dilation_rate")
    )
    if any(s > 1 for s in strides) and any(r > 1 for r in rates):
        raise ValueError(
            f"Keras refuses strides > 1 together with dilation_rate > 1 (got strides={strides}, "
            f"dilation_rate={rates}); run the dilated layer at stride 1 and keep every s-th output, "
            "or use tf_nn_conv2d"
        )
    tf, keras = frameworks()
    layer = getattr(keras.layers, layer_cls)(
        filters=w.shape[-1],
        kernel_size=w.shape[:ndim],
        strides=strides,
        padding=padding,
        dilation_rate=rates,
        use_bias=b is not None,
        dtype="float64" if x.dtype == np.float64 else "float32",
    )
    layer.build(x.shape)
    layer.set_weights([w] if b is None else [w, b])
    return np.asarray(layer(x))


def keras_conv2d(
    x: Any,
    w: Any,
    b: Any = None,
    *,
    strides: int | tuple[int, int] = 1,
    padding: Literal["valid", "same"] = "valid",
    dilation_rate: int | tuple[int, int] = 1,
) -> np.ndarray:
    """Run ``keras.layers.Conv2D`` with the kernel ``w`` (HWIO) and bias ``b`` on ``x`` (NHWC)."""
    return _keras_conv("Conv2D", x, w, b, strides, padding, dilation_rate)


def keras_conv1d(
    x: Any,
    w: Any,
    b: Any = None,
    *,
    strides: int = 1,
    padding: Literal["valid", "same", "causal"] = "valid",
    dilation_rate: int = 1,
) -> np.ndarray:
    """Run ``keras.layers.Conv1D`` with the kernel ``w`` (K, C, O) and bias ``b`` on ``x`` (N, L, C)."""
    return _keras_conv("Conv1D", x, w, b, strides, padding, dilation_rate)


def tf_nn_conv2d(
    x: Any, w: Any, *, strides: int = 1, padding: Literal["VALID", "SAME"] = "VALID", dilations: int = 1
) -> np.ndarray:
    """``tf.nn.conv2d`` (NHWC, HWIO): the low-level op, which does accept strides and dilation together.

    ``strides`` and ``dilations`` are an int or a pair ``(h, w)``. Arguments are checked here, so a
    bad one raises a ValueError/TypeError naming it instead of TensorFlow's InvalidArgumentError.
    """
    if not isinstance(padding, str) or padding not in ("VALID", "SAME"):
        raise ValueError(f"padding must be 'VALID' or 'SAME' for tf.nn.conv2d, got {padding!r}")
    x, w, _, step, rates = _check_tf_arguments(
        x, w, None, 2, strides, dilations, padding == "VALID", ("strides", "dilations")
    )
    tf, _ = frameworks()
    return tf.nn.conv2d(x, w, strides=[1, *step, 1], padding=padding, dilations=[1, *rates, 1]).numpy()
