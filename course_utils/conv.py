"""Dilated convolution from scratch, in NumPy only.

Every function here follows PyTorch's conventions (``torch.nn.functional.conv1d`` / ``conv2d``):
the operation is a cross-correlation, inputs are ``(N, C, L)`` or ``(N, C, H, W)`` and kernels
``(O, C, K)`` or ``(O, C, kh, kw)``. For one channel, output sample ``i`` of a 1D convolution is

    y[i] = b + sum_k w[k] * x_padded[i * stride + k * dilation],      k = 0 .. K-1

so a kernel of ``K`` taps at dilation ``d`` spans ``(K - 1) * d + 1`` input samples while keeping
``K`` weights (Yu & Koltun 2016; Dumoulin & Visin 2016, "A guide to convolution arithmetic").
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager, nullcontext
from typing import Any, Literal

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._checks import check_array, check_array_budget, check_choice, check_int, check_int_tuple

__all__ = [
    "conv1d",
    "conv2d",
    "conv_output_size",
    "dilate_kernel",
    "effective_kernel_size",
    "resolve_padding",
]

Method = Literal["fast", "naive"]


def effective_kernel_size(kernel_size: int, dilation: int = 1) -> int:
    """Span of a dilated kernel in input samples: ``k_eff = (k - 1) * d + 1``.

    Source: Dumoulin & Visin (2016), relationship 15; Araujo et al. (2019, Distill).
    """
    k = check_int("kernel_size", kernel_size)
    d = check_int("dilation", dilation)
    return (k - 1) * d + 1


def _pair_padding(padding: Any, name: str = "padding") -> tuple[int, int]:
    if isinstance(padding, tuple | list):
        if len(padding) != 2:
            raise ValueError(f"{name} must be an int or a pair (before, after), got {padding!r}")
        return (check_int(f"{name}[0]", padding[0], 0), check_int(f"{name}[1]", padding[1], 0))
    p = check_int(name, padding, 0)
    return (p, p)


def conv_output_size(
    n: int, kernel_size: int, stride: int = 1, padding: int | tuple[int, int] = 0, dilation: int = 1
) -> int:
    """Length of a convolution's output along one axis.

    ``out = floor((n + p_before + p_after - d * (k - 1) - 1) / s) + 1``; with symmetric padding
    ``p`` this is the familiar ``floor((n + 2p - d(k - 1) - 1) / s) + 1`` of the PyTorch docs.
    ``padding`` is an int (each side) or a pair ``(before, after)``.
    Raises ``ValueError`` when the dilated kernel does not fit in the padded input.
    """
    n = check_int("n", n)
    stride = check_int("stride", stride)
    before, after = _pair_padding(padding)
    span = effective_kernel_size(kernel_size, dilation)
    padded = n + before + after
    if span > padded:
        raise ValueError(
            f"kernel_size={kernel_size} at dilation={dilation} spans {span} samples, "
            f"more than the padded input (n={n} + padding {before}+{after} = {padded})"
        )
    return (padded - span) // stride + 1


def dilate_kernel(w: Any, dilation: int | tuple[int, ...]) -> np.ndarray:
    """Insert ``d - 1`` zeros between neighbouring taps: the dense kernel that a dilated one equals.

    ``dilation`` as an int acts on the last ``min(w.ndim, 2)`` axes (a 1D kernel, a 2D kernel, or an
    OIHW stack of 2D kernels); as a tuple it acts on the last ``len(dilation)`` axes, so pass ``(d,)``
    for an ``(O, C, K)`` stack of 1D kernels. Each dilated axis grows from ``k`` to ``(k - 1) d + 1``.
    Generalises the ``dilate`` helper of R. Ramos-Pollán's "4.9 Atrous convolutions" (GitHub
    ``rramosp/2021.deeplearning``), which handled d = 2 only.
    """
    w = check_array("w", w, allow_empty=True)
    if w.ndim == 0:
        raise ValueError(f"w must have at least one axis, got a scalar {w!r}")
    if isinstance(dilation, tuple | list):
        if not 1 <= len(dilation) <= w.ndim:
            raise ValueError(f"dilation {dilation!r} names more axes than w has (w.shape={w.shape})")
        rates = check_int_tuple("dilation", dilation, len(dilation))
    else:
        rates = (check_int("dilation", dilation),) * min(w.ndim, 2)
    lead = w.shape[: w.ndim - len(rates)]
    taps = w.shape[w.ndim - len(rates) :]
    if 0 in taps:
        raise ValueError(f"w must have at least one tap on every dilated axis, got w.shape={w.shape}")
    shape = lead + tuple((k - 1) * d + 1 for k, d in zip(taps, rates, strict=True))
    check_array_budget(f"dilation={dilation!r} on w.shape={w.shape}", math.prod(shape))
    out = np.zeros(shape, dtype=w.dtype)
    out[(Ellipsis, *(slice(None, None, d) for d in rates))] = w
    return out


def resolve_padding(
    padding: Any, kernel_size: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]
) -> tuple[tuple[int, int], ...]:
    """Turn any accepted ``padding`` spelling into explicit ``(before, after)`` amounts per axis.

    Words: ``"valid"`` (none); ``"same"`` (total ``d(k-1)``, the smaller half before, as PyTorch
    splits it; stride 1 only, as in PyTorch); ``"causal"`` (1D only: all ``d(k-1)`` before, so
    ``y[t]`` depends on ``x[<= t]``). Numbers: an int (every side), one int per axis (both sides of
    that axis), or one ``(before, after)`` pair per axis (for 1D a single pair ``(left, right)``).
    """
    if not isinstance(kernel_size, tuple | list) or not 1 <= len(kernel_size) <= 3:
        raise TypeError(f"kernel_size must be a tuple of one int per spatial axis, got {kernel_size!r}")
    ndim = len(kernel_size)
    kernel_size = check_int_tuple("kernel_size", kernel_size, ndim)
    stride = check_int_tuple("stride", stride, ndim)
    dilation = check_int_tuple("dilation", dilation, ndim)
    spans = [(k - 1) * d for k, d in zip(kernel_size, dilation, strict=True)]
    if isinstance(padding, str):
        word = padding.lower()
        if word == "valid":
            return ((0, 0),) * ndim
        if word == "same":
            if any(s != 1 for s in stride):
                raise ValueError(
                    f"padding='same' needs stride 1 (as in PyTorch), got stride={stride if ndim > 1 else stride[0]}"
                )
            return tuple((t // 2, t - t // 2) for t in spans)
        if word == "causal":
            if ndim != 1:
                raise ValueError("padding='causal' is defined for 1D convolutions only (conv1d)")
            return ((spans[0], 0),)
        words = "'valid', 'same' or 'causal'" if ndim == 1 else "'valid' or 'same'"
        raise ValueError(f"padding must be an int, a tuple or one of {words}; got {padding!r}")
    if isinstance(padding, tuple | list):
        if ndim == 1:
            if len(padding) == 1:
                return (_pair_padding(padding[0]),)
            return (_pair_padding(padding),)
        if len(padding) != ndim:
            raise ValueError(f"padding must be an int or have {ndim} entries (one per axis), got {padding!r}")
        return tuple(_pair_padding(p, f"padding[{i}]") for i, p in enumerate(padding))
    if isinstance(padding, bool) or padding is None:
        raise TypeError(f"padding must be an int, a tuple or a word, got {padding!r}")
    return (_pair_padding(padding),) * ndim


def _as_float_array(name: str, value: Any, dtype: np.dtype | None = None) -> np.ndarray:
    arr = check_array(name, value, allow_empty=True)
    target = dtype if dtype is not None else (arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64))
    return arr.astype(target, copy=False)


def _prepare(
    x: Any, w: Any, b: Any, spatial: int, stride: Any, padding: Any, dilation: Any, method: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, tuple[int, ...], tuple[int, ...], tuple, bool]:
    """Validate and normalise the arguments of conv1d/conv2d; returns batched arrays and amounts."""
    check_choice("method", method, ("fast", "naive"))
    x = _as_float_array("x", x)
    w = _as_float_array("w", w, x.dtype)
    layout = "(N, C, L)" if spatial == 1 else "(N, C, H, W)"
    klayout = "(O, C, K)" if spatial == 1 else "(O, C, kh, kw)"
    single = x.ndim == spatial
    if single:
        if w.ndim != spatial:
            raise ValueError(
                f"for a single {'signal' if spatial == 1 else 'image'} x of shape {x.shape}, w must have "
                f"{spatial} {'axes' if spatial > 1 else 'axis'}, got w.shape={w.shape}"
            )
        x = x.reshape((1, 1) + x.shape)
        w = w.reshape((1, 1) + w.shape)
    elif x.ndim == spatial + 2:
        if w.ndim != spatial + 2:
            raise ValueError(f"w must be {klayout} for x of shape {layout}, got w.shape={w.shape}")
    else:
        raise ValueError(
            f"x must have {spatial} axes (one {'signal' if spatial == 1 else 'image'}) or {spatial + 2} "
            f"axes {layout}, got x.shape={x.shape}"
        )
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"channel mismatch: x has C={x.shape[1]} channels but w expects {w.shape[1]} (w.shape={w.shape})"
        )
    if 0 in w.shape:
        raise ValueError(f"w must have at least one output channel and one tap, got w.shape={w.shape}")
    if 0 in x.shape:
        raise ValueError(f"x must not have an empty axis, got x.shape={x.shape}")
    strides = check_int_tuple("stride", stride, spatial)
    dilations = check_int_tuple("dilation", dilation, spatial)
    ksize = w.shape[2:]
    pads = resolve_padding(padding, ksize, strides, dilations)
    for axis, (n, k, d, (lo, hi)) in enumerate(zip(x.shape[2:], ksize, dilations, pads, strict=True)):
        span = (k - 1) * d + 1
        if span > n + lo + hi:
            where = "" if spatial == 1 else f" on axis {'HW'[axis]}"
            raise ValueError(
                f"kernel larger than the padded input{where}: {k} taps at dilation {d} span {span} "
                f"samples, but the input has {n} + padding {lo}+{hi} = {n + lo + hi}"
            )
    padded = x.shape[0] * x.shape[1] * math.prod(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads, strict=True))
    if padded > 2 * x.size:  # padding that multiplies the input: counted before it is allocated
        # (untouched zero pages cost little, so the bound is the allocation itself: 2 GB of float64)
        check_array_budget(f"padding={padding!r} on x.shape={x.shape}", padded, 2**28)
    if b is not None:
        b = _as_float_array("b", b, x.dtype)
        if single and b.ndim == 0:
            b = b.reshape(1)
        if b.shape != (w.shape[0],):
            raise ValueError(f"b must have shape ({w.shape[0]},) (one bias per output channel), got {b.shape}")
    return x, w, b, strides, dilations, pads, single


def _windows(xp: np.ndarray, out_shape: tuple[int, ...], ksize, strides, dilations) -> np.ndarray:
    """A read-only view (N, C, *out_shape, *ksize): window axes step by stride, tap axes by dilation."""
    n_c_strides = xp.strides[:2]
    spatial_strides = xp.strides[2:]
    view_strides = (
        n_c_strides
        + tuple(st * s for st, s in zip(spatial_strides, strides, strict=True))
        + tuple(st * d for st, d in zip(spatial_strides, dilations, strict=True))
    )
    return as_strided(xp, xp.shape[:2] + tuple(out_shape) + tuple(ksize), view_strides, writeable=False)


# Blocks of the fast path ------------------------------------------------------------------------
# The stride-1 paths cut the output positions into blocks and compute each block as ONE product
# (O, K C) @ (K C, positions), written straight into the (N, O, positions) output. In this
# orientation the positions are the long side that a BLAS kernel streams through its packed copy
# of the small (O, K C) weight matrix, and its speed hardly depends on the block width: measured
# on OpenBLAS's Haswell, SkylakeX and Sandybridge kernels, float32 and float64, the products alone
# run within 10% of one another for blocks of 192 to 16384 positions; the whole convolution, whose
# columns are also written and read, is fastest while a block stays in cache (blocks of 4096 and
# more ran up to a quarter slower; benchmarks/conv_vs_pytorch.py prints the sweep).
# The other orientation, (positions, K C) @ (K C, O), was 2x slower at narrow blocks on Haswell's
# kernel, which is why an earlier version timed several widths. So the width is a fixed rule: as
# many positions as keep one block's columns and output within BLOCK_BYTES, which stays in a
# core's level-2 cache (1 to 2 MiB on current x86 and ARM cores). The same shape always gets the
# same blocks, so the same bits.

BLOCK_BYTES = 2 * 1024 * 1024
_ALIGN = 64  # block widths are multiples of 64 positions (256-byte rows in float32)
# OpenBLAS splits a product among its threads above about 2^18 multiply-adds, at places that
# depend on the thread count (and so do the last bits); the fast path runs such products on one.
_THREADED_MACS = 1 << 18

_FORCED = threading.local()
_BLAS: list = []


def _blas_pools() -> Any:
    """A threadpoolctl handle on NumPy's BLAS, found once per process; None without threadpoolctl
    (NumPy's BLAS then keeps its own thread count)."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS.append(ThreadpoolController().select(user_api="blas"))
        except ImportError:
            _BLAS.append(None)
    return _BLAS[0]


def _one_blas_thread(macs_per_product: int):
    """Run products big enough to be split among BLAS threads on one thread: the same bits on any
    thread count. Smaller products, or a BLAS already on one thread, are left alone (no cost)."""
    if macs_per_product < _THREADED_MACS:
        return nullcontext()
    pools = _blas_pools()
    if pools is None or all(lib.num_threads == 1 for lib in pools.lib_controllers):
        return nullcontext()
    return pools.limit(limits=1)


def _block_width(inner: int, o: int, itemsize: int, total: int) -> int:
    """Output positions per product: ``K C`` column values plus ``O`` outputs each, within BLOCK_BYTES."""
    forced = getattr(_FORCED, "width", None)
    if forced is not None:
        return forced
    width = max(_ALIGN, BLOCK_BYTES // ((inner + o) * itemsize) // _ALIGN * _ALIGN)
    return min(width, total)


def _blocks(width: int, total: int):
    """``(start, stop)`` blocks of ``width`` positions covering ``range(total)``; a rest shorter than
    half a block joins the block before it (no thin product at the end)."""
    start = 0
    while start < total:
        stop = start + width
        if total - stop < width // 2:
            stop = total
        yield start, stop
        start = stop


@contextmanager
def _forced_width(width: int):
    """Compute every block at ``width`` positions in this thread: for tests of the block edges."""
    width = check_int("width", width)
    _FORCED.width = width
    try:
        yield
    finally:
        _FORCED.width = None


def _taps_inner(w: np.ndarray) -> np.ndarray:
    """``(O, C, *k)`` -> ``(O, K C)`` with the taps outermost: columns ``t C .. (t + 1) C`` are tap ``t``."""
    o, c = w.shape[:2]
    return np.ascontiguousarray(w.reshape(o, c, -1).transpose(0, 2, 1)).reshape(o, -1)


_SCRATCH = threading.local()


def _scratch(size: int, dtype: np.dtype) -> np.ndarray:
    """A per-thread flat buffer of at least ``size`` items, reused between calls (no page faults)."""
    buffer = getattr(_SCRATCH, "buffer", None)
    if buffer is None or buffer.dtype != dtype or buffer.size < size:
        buffer = _SCRATCH.buffer = np.empty(size, dtype=dtype)
    return buffer


def _block_products(kernel: np.ndarray, out: np.ndarray, total: int, taps: int):
    """The blocks of both stride-1 paths: yields ``(b, start, stop, columns)`` for every image ``b``
    and block of positions ``start:stop < total``; once the caller has filled ``columns``
    (``(taps, C, block)``, the shifted runs one under another), the block is ONE product
    ``(O, K C) @ (K C, block)`` written straight into ``out[b, :, start:stop]``."""
    o, inner = kernel.shape
    block = _block_width(inner, o, out.itemsize, total)
    scratch = _scratch(inner * (block + block // 2), out.dtype)  # the last block may take a short rest
    with _one_blas_thread(o * inner * block):
        for b in range(out.shape[0]):
            for start, stop in _blocks(block, total):
                m = stop - start
                columns = scratch[: inner * m].reshape(taps, inner // taps, m)
                yield b, start, stop, columns
                np.matmul(kernel, columns.reshape(inner, m), out=out[b, :, start:stop])


def _shift_gemm(xp: np.ndarray, w: np.ndarray, out_shape: tuple[int, int], dilations) -> np.ndarray:
    """Stride-1 2D convolution as one GEMM per block of output positions.

    ``xp`` is the padded input ``(N, C, Hp, Wp)``, contiguous. On the flattened padded image a 2D
    shift is a 1D offset ``p * d_h * Wp + q * d_w``, so tap ``(p, q)`` reads, in every channel, a
    contiguous run of the plane. For each block of output positions the ``K = kh kw`` shifted runs
    are copied one under another into a ``(K C, block)`` matrix (im2col, one block at a time) and
    the block is ONE product ``(O, K C) @ (K C, block)``, written straight into the output: no
    per-tap products, no pass that adds them, no transposed copy of the input or the output.
    Output rows keep the padded pitch ``Wp``; the ``Wp - W_out`` wrapped-around positions per row
    are computed and dropped (3% of the work at 128x128).
    """
    n, c, _, pitch = xp.shape
    height, width = out_shape
    band_len = (height - 1) * pitch + width
    flat = xp.reshape(n, c, -1)
    taps = list(np.ndindex(*w.shape[2:]))
    offsets = [p * dilations[0] * pitch + q * dilations[1] for p, q in taps]
    kernel = _taps_inner(w)
    out = np.empty((n, kernel.shape[0], height * pitch), dtype=xp.dtype)
    for b, start, stop, columns in _block_products(kernel, out, band_len, len(taps)):
        for t, offset in enumerate(offsets):
            columns[t] = flat[b, :, start + offset : stop + offset]
    return out.reshape(n, -1, height, pitch)[..., :width]


def _shift_gemm_1d(x: np.ndarray, w: np.ndarray, left: int, length: int, dilation: int) -> np.ndarray:
    """Stride-1 1D convolution, block by block as in ``_shift_gemm``, without a padded copy of the input.

    ``x`` is ``(N, C, L)``, contiguous. Output ``i`` reads ``x[:, i + t d - left]``. For each block of
    outputs the ``K`` shifted runs are copied into a ``(K C, block)`` matrix; where a tap's index
    falls outside the signal, its entries get the padding's zeros, so the block is one GEMM as in
    2D. The zeros are multiplied, not skipped: ``0 * inf`` is NaN, so a non-finite weight on padding
    gives what PyTorch gives.
    """
    n, _, samples = x.shape
    k = w.shape[2]
    kernel = _taps_inner(w)
    shifts = [t * dilation - left for t in range(k)]
    out = np.empty((n, kernel.shape[0], length), dtype=x.dtype)
    for b, start, stop, columns in _block_products(kernel, out, length, k):
        for t, shift in enumerate(shifts):
            lo, hi = min(max(start, -shift), stop), max(min(stop, samples - shift), start)
            if lo >= hi:
                columns[t] = 0
                continue
            columns[t, :, : lo - start] = 0
            columns[t, :, hi - start :] = 0
            columns[t, :, lo - start : hi - start] = x[b, :, lo + shift : hi + shift]
    return out


_WORKSPACE = threading.local()


def _pad(x: np.ndarray, pads: tuple[tuple[int, int], ...], *, reuse: bool = False) -> np.ndarray:
    """Zero padding of the spatial axes (a plain copy into a zeroed buffer: faster than np.pad).

    ``reuse=True`` (for buffers that never leave this module) keeps one padded buffer per thread
    and reuses it when the next call has the same shape, dtype and padding: only the interior is
    copied, the zero border is already there, and no fresh pages have to be faulted in.
    """
    if not any(p for pair in pads for p in pair):
        return np.ascontiguousarray(x)
    shape = x.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads, strict=True))
    interior = (slice(None), slice(None), *(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[2:], pads, strict=True)))
    key = (shape, x.dtype.str, pads)
    if reuse and getattr(_WORKSPACE, "key", None) == key:
        out = _WORKSPACE.buffer
    else:
        out = np.zeros(shape, dtype=x.dtype)
        if reuse:
            _WORKSPACE.key, _WORKSPACE.buffer = key, out
    out[interior] = x
    return out


def _conv(x, w, b, spatial, stride, padding, dilation, method) -> np.ndarray:
    x, w, b, strides, dilations, pads, single = _prepare(x, w, b, spatial, stride, padding, dilation, method)
    ksize = w.shape[2:]
    out_shape = tuple(
        (n + lo + hi - ((k - 1) * d + 1)) // s + 1
        for n, (lo, hi), k, d, s in zip(x.shape[2:], pads, ksize, dilations, strides, strict=True)
    )
    if method == "naive":
        y = _naive(_pad(x, pads), w, out_shape, strides, dilations)
    elif spatial == 1 and strides == (1,):
        y = _shift_gemm_1d(np.ascontiguousarray(x), w, pads[0][0], out_shape[0], dilations[0])
    elif all(s == 1 for s in strides):
        y = _shift_gemm(_pad(x, pads, reuse=True), w, out_shape, dilations)  # y never views the reused buffer
    else:
        win = _windows(_pad(x, pads), out_shape, ksize, strides, dilations)
        # contract C and the tap axes: (N, C, *out, *k) . (O, C, *k) -> (N, *out, O)
        axes_x = [1, *range(2 + spatial, 2 + 2 * spatial)]
        axes_w = [1, *range(2, 2 + spatial)]
        y = np.moveaxis(np.tensordot(win, w, axes=(axes_x, axes_w)), -1, 1)
    if b is not None:
        y += b.reshape((1, -1) + (1,) * spatial)
    y = y.astype(x.dtype, copy=False)
    return y[0, 0] if single else y


def _naive(xp: np.ndarray, w: np.ndarray, out_shape, strides, dilations) -> np.ndarray:
    """The loops of the definition: each output is the kernel times a window read with step ``d``."""
    n_batch, o_channels = xp.shape[0], w.shape[0]
    spans = [(k - 1) * d + 1 for k, d in zip(w.shape[2:], dilations, strict=True)]
    y = np.zeros((n_batch, o_channels, *out_shape), dtype=xp.dtype)
    for n in range(n_batch):
        for o in range(o_channels):
            for pos in np.ndindex(*out_shape):
                window = tuple(
                    slice(i * s, i * s + span, d) for i, s, span, d in zip(pos, strides, spans, dilations, strict=True)
                )
                y[(n, o, *pos)] = np.sum(xp[(n, slice(None), *window)] * w[o])
    return y


def conv1d(
    x: Any,
    w: Any,
    b: Any = None,
    *,
    stride: int = 1,
    padding: int | tuple | str = 0,
    dilation: int = 1,
    method: Method = "fast",
) -> np.ndarray:
    """1D dilated convolution (cross-correlation), the semantics of ``torch.nn.functional.conv1d``.

    ``y[n, o, i] = b[o] + sum_{c, k} w[o, c, k] * x_pad[n, c, i * stride + k * dilation]``,
    with output length ``floor((L + p_l + p_r - d(K - 1) - 1) / stride) + 1``.

    x: ``(N, C, L)``, or a single signal ``(L,)`` with ``w`` of shape ``(K,)`` (then returns ``(L_out,)``).
    w: ``(O, C, K)``. b: ``(O,)`` or None. padding: an int, ``(left, right)``, ``"valid"``,
    ``"same"`` (stride 1 only) or ``"causal"`` (all ``d(K-1)`` on the left).
    method: ``"naive"`` (the loops of the definition) or ``"fast"`` (GEMMs on views, no Python loop
    over positions). The result has the dtype of ``x`` (integers are computed in float64).
    """
    return _conv(x, w, b, 1, stride, padding, dilation, method)


def conv2d(
    x: Any,
    w: Any,
    b: Any = None,
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple | str = 0,
    dilation: int | tuple[int, int] = 1,
    method: Method = "fast",
) -> np.ndarray:
    """2D dilated convolution (cross-correlation), the semantics of ``torch.nn.functional.conv2d``.

    ``y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * x_pad[n, c, i*s_h + p*d_h, j*s_w + q*d_w]``.

    x: ``(N, C, H, W)``, or one image ``(H, W)`` with ``w`` of shape ``(kh, kw)`` (returns
    ``(H_out, W_out)``). w: ``(O, C, kh, kw)``. stride, dilation: an int or a pair ``(h, w)``.
    padding: an int, a pair ``(ph, pw)``, explicit ``((top, bottom), (left, right))``, ``"valid"``
    or ``"same"`` (stride 1 only, the odd pixel after, as PyTorch does).
    """
    return _conv(x, w, b, 2, stride, padding, dilation, method)


# Polyphase view of a dilated convolution (chapter 7) -------------------------------------------


def space_to_batch(x: Any, block: int) -> np.ndarray:
    """Split ``(N, C, H, W)`` into its ``block**2`` interleaved sub-grids, stacked along the batch axis.

    Sub-grid ``(a, b)`` holds ``x[:, :, a::block, b::block]`` and lands at batch index
    ``(a * block + b) * N + n``, the order of TensorFlow's ``tf.space_to_batch`` (NHWC there).
    ``H`` and ``W`` must be multiples of ``block``. Returns ``(block**2 * N, C, H / block, W / block)``.
    """
    block = check_int("block", block)
    x = _as_float_array("x", x)
    if x.ndim != 4:
        raise ValueError(f"x must be (N, C, H, W), got shape {x.shape}")
    n, c, h, w = x.shape
    if h % block or w % block:
        raise ValueError(f"x's height and width must be multiples of block={block}, got {h}x{w}")
    # (N, C, H/b, b, W/b, b) -> (b, b, N, C, H/b, W/b): the two phase axes become batch axes
    grids = x.reshape(n, c, h // block, block, w // block, block).transpose(3, 5, 0, 1, 2, 4)
    return np.ascontiguousarray(grids.reshape(block * block * n, c, h // block, w // block))


def batch_to_space(y: Any, block: int) -> np.ndarray:
    """Inverse of ``space_to_batch``: interleave ``block**2`` sub-grids back into one map.

    ``y``: ``(block**2 * N, C, h, w)`` -> ``(N, C, h * block, w * block)``, with sub-grid ``(a, b)``
    written to rows ``a::block`` and columns ``b::block``.
    """
    block = check_int("block", block)
    y = _as_float_array("y", y)
    if y.ndim != 4:
        raise ValueError(f"y must be (block**2 * N, C, h, w), got shape {y.shape}")
    if y.shape[0] % (block * block):
        raise ValueError(
            f"y's batch size must be a multiple of block**2 = {block * block} (block={block}), got {y.shape[0]}"
        )
    n = y.shape[0] // (block * block)
    _, c, h, w = y.shape
    grids = y.reshape(block, block, n, c, h, w).transpose(2, 3, 4, 0, 5, 1)
    return np.ascontiguousarray(grids.reshape(n, c, h * block, w * block))


def polyphase_conv2d(x: Any, w: Any, b: Any = None, *, padding: int | tuple | str = 0, dilation: int = 1) -> np.ndarray:
    """A dilated 2D convolution computed as ``d**2`` independent *dense* convolutions on sub-grids.

    Output pixel ``(a + d i, b + d j)`` reads ``x_pad[a + d (i + p), b + d (j + q)]``: only rows
    ``= a (mod d)`` and columns ``= b (mod d)``. So with ``S_ab = x_pad[a::d, b::d]``,

        y[a::d, b::d] = conv2d(S_ab, w, dilation=1)

    and the ``d**2`` sub-grids never exchange information (Yu & Koltun 2016). TensorFlow documents
    the same computation as ``tf.nn.with_space_to_batch``, ``batch_to_space(op(space_to_batch(x)))``.
    Steps: pad as ``conv2d`` would, pad the end up to a multiple of ``d``, ``space_to_batch``, one
    dense valid convolution, ``batch_to_space``, crop. Only the sub-grids that hold an output pixel
    are formed, and only the rows and columns that reach one: at a rate far above the image size
    almost every sub-grid is padding alone, and the padded image is never built.
    Equals ``conv2d(x, w, b, padding=padding, dilation=dilation)`` (stride 1; a single int rate).
    """
    d = check_int("dilation", dilation)
    x = _as_float_array("x", x)
    w = _as_float_array("w", w)
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"x must be (N, C, H, W) and w (O, C, kh, kw), got shapes {x.shape} and {w.shape}")
    kernel = (int(w.shape[2]), int(w.shape[3]))
    pads = resolve_padding(padding, kernel, (1, 1), (d, d))
    padded = tuple(x.shape[2 + i] + pads[i][0] + pads[i][1] for i in range(2))
    out_h, out_w = (padded[i] - (kernel[i] - 1) * d for i in range(2))
    if x.size == 0 or w.size == 0:
        raise ValueError(f"x and w must not be empty, got shapes x {x.shape} and w {w.shape}")
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"x, padded to {padded}, is smaller than the dilated kernel (span "
            f"{(kernel[0] - 1) * d + 1} x {(kernel[1] - 1) * d + 1} at dilation={d})"
        )
    phases = (min(d, out_h), min(d, out_w))  # sub-grids (a, b) with a < out_h, b < out_w hold outputs
    per_phase = (-(-out_h // d), -(-out_w // d))  # output rows (columns) of one sub-grid, at most
    reach = [per_phase[i] + kernel[i] - 1 for i in range(2)]  # its input rows (columns)
    cost = x.shape[0] * x.shape[1] * phases[0] * phases[1] * reach[0] * reach[1]
    if cost > MAX_POLYPHASE_VALUES:
        raise ValueError(
            f"x and dilation={d} need sub-grids of {cost:,} values; polyphase_conv2d stops at "
            f"{MAX_POLYPHASE_VALUES:,} (about 256 MB) to stay within memory"
        )
    # Row i of sub-grid a is row a + d i of the padded image, that is row a + d i - top of x.
    index, inside = [], []
    for axis in range(2):
        rows = np.array(
            [[a + d * i - pads[axis][0] for i in range(reach[axis])] for a in range(phases[axis])], dtype=object
        )
        ok = (rows >= 0) & (rows < x.shape[2 + axis])
        index.append(np.where(ok, rows, 0).astype(np.int64))
        inside.append(ok.astype(bool))
    grids = x[:, :, index[0][:, None, :, None], index[1][None, :, None, :]]  # (N, C, pa, pb, rows, cols)
    grids = np.where(inside[0][:, None, :, None] & inside[1][None, :, None, :], grids, x.dtype.type(0))
    n, c = x.shape[:2]
    batch = np.ascontiguousarray(grids.transpose(2, 3, 0, 1, 4, 5)).reshape(-1, c, reach[0], reach[1])
    dense = conv2d(batch, w, b)  # each sub-grid: an ordinary dilation-1 convolution
    o = dense.shape[1]
    dense = dense.reshape(phases[0], phases[1], n, o, per_phase[0], per_phase[1]).transpose(2, 3, 4, 0, 5, 1)
    out = dense.reshape(n, o, per_phase[0] * phases[0], per_phase[1] * phases[1])  # row i d + a
    return np.ascontiguousarray(out[:, :, :out_h, :out_w])


MAX_POLYPHASE_VALUES = 2**25


__all__ += ["batch_to_space", "polyphase_conv2d", "space_to_batch"]
