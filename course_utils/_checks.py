"""Argument checks shared by every module: clear errors that name the parameter and its value.

Every public function of ``course_utils`` validates its arguments with these helpers, so a bad
argument raises ``TypeError`` (wrong kind) or ``ValueError`` (right kind, bad value) with a message
of the form ``"<name> must be ..., got <value>"``, never an error from deep inside NumPy or PyTorch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from typing import Any

import numpy as np


def _shown(value: Any) -> str:
    """The value as an error message shows it: its repr, shortened for big objects."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def check_int(name: str, value: Any, minimum: int | None = 1, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``name`` if it is not an integer in [minimum, maximum].

    ``True``/``False`` are not integers here, nor is ``2.0``: a float where a count is expected is
    almost always a mistake (``n / 2`` instead of ``n // 2``).
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_shown(value)} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value!r}")
    return int(value)


def check_int_tuple(name: str, value: Any, length: int, minimum: int | None = 1) -> tuple[int, ...]:
    """An int (repeated ``length`` times) or a sequence of exactly ``length`` ints, each >= minimum."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != length:
            raise ValueError(f"{name} must be an integer or a sequence of {length} integers, got {value!r}")
        return tuple(check_int(f"{name}[{i}]", v, minimum) for i, v in enumerate(value))
    return (check_int(name, value, minimum),) * length


def check_float(
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    min_open: bool = False,
    max_open: bool = False,
) -> float:
    """A finite real number (int or float, not bool) in the range given; returned as a float.

    ``min_open``/``max_open`` exclude the bound itself: ``check_float("lr", lr, 0, min_open=True)``
    asks for ``lr > 0``.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_shown(value)} ({type(value).__name__})")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and (number < minimum or (min_open and number == minimum)):
        raise ValueError(f"{name} must be {'>' if min_open else '>='} {minimum:g}, got {value!r}")
    if maximum is not None and (number > maximum or (max_open and number == maximum)):
        raise ValueError(f"{name} must be {'<' if max_open else '<='} {maximum:g}, got {value!r}")
    return number


def check_bool(name: str, value: Any) -> bool:
    """``True`` or ``False`` (a NumPy bool too); ``1``, ``"yes"`` or ``None`` are refused."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {_shown(value)} ({type(value).__name__})")
    return bool(value)


def check_str(name: str, value: Any, *, allow_empty: bool = True) -> str:
    """A string (empty allowed unless ``allow_empty=False``)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {_shown(value)} ({type(value).__name__})")
    if not allow_empty and not value:
        raise ValueError(f"{name} must not be empty, got {value!r}")
    return value


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """One of ``choices`` (compared with ``==``; an unhashable value is simply not a choice)."""
    choices = list(choices)
    try:
        ok = any(type(value) is type(c) and value == c for c in choices)
    except Exception:  # an array compared with a string, ...
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {choices}, got {_shown(value)}")
    return value


def check_callable(name: str, value: Any) -> Callable[..., Any]:
    """Anything that can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be callable (a function), got {_shown(value)} ({type(value).__name__})")
    return value


def check_sequence(name: str, value: Any, *, allow_empty: bool = False) -> list[Any]:
    """An ordered collection (list, tuple, range, array, generator); not a string, a set or a dict."""
    if isinstance(value, str | bytes | Set | Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list or a tuple, got {_shown(value)} ({type(value).__name__})")
    items = list(value)
    if not allow_empty and not items:
        raise ValueError(f"{name} must not be empty, got {_shown(value)}")
    return items


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | Sequence[int] | None = None,
    allow_empty: bool = False,
    finite: bool = False,
) -> np.ndarray:
    """Real numbers (bool, int or float) as an ndarray, with ``ndim`` axes (one int or a few allowed).

    A ragged list, a string, None or an object array raise ``TypeError``; a wrong number of axes,
    an empty array or (with ``finite=True``) NaN/inf raise ``ValueError``. A torch tensor is
    accepted (``np.asarray`` reads it on the CPU, detached).
    """
    if value is None or isinstance(value, str | bytes):
        raise TypeError(f"{name} must be an array of numbers, got {_shown(value)}")
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = _tensor_as_array(name, value)
    if isinstance(value, np.ma.MaskedArray):  # np.asarray would drop the mask and use the hidden values
        masked = int(np.ma.count_masked(value))
        if masked:
            raise TypeError(
                f"{name} must be a plain array, got a masked array with {masked} masked "
                f"entr{'y' if masked == 1 else 'ies'} (a mask is not honoured here: fill it first, "
                f"e.g. {name}.filled(0))"
            )
        value = np.ma.getdata(value)
    try:
        arr = np.asarray(value)
    except Exception as exc:  # a ragged list, an object that is not array-like
        raise TypeError(f"{name} must be array-like (equal-length rows of numbers), got {_shown(value)}") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype} from {_shown(value)}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            wanted = " or ".join(str(n) for n in allowed)
            raise ValueError(f"{name} must have {wanted} axes, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers (no NaN or inf), got {_shown(value)}")
    return arr


def _tensor_as_array(name: str, tensor: Any) -> np.ndarray:
    """A torch tensor's values as an ndarray, or a course error for the kinds NumPy cannot hold."""
    import torch

    if tensor.layout != torch.strided:
        raise TypeError(f"{name} must be a dense tensor, got a tensor with layout {tensor.layout} (use .to_dense())")
    if tensor.device.type == "meta":
        raise TypeError(f"{name} must hold values, got a tensor on the 'meta' device (a shape without data)")
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:  # NumPy has no bfloat16; float32 holds every bfloat16 exactly
        tensor = tensor.float()
    if tensor.dtype.is_complex:
        raise TypeError(f"{name} must hold real numbers, got a tensor of dtype {tensor.dtype}")
    return tensor.numpy()


MAX_ARRAY_VALUES = 2**25  # one array a public function allocates: 256 MB of float64


def check_array_budget(what: str, count: int, limit: int = MAX_ARRAY_VALUES) -> None:
    """Refuse, before allocating, an array of ``count`` values above ``limit`` (a clear ValueError,
    not NumPy's MemoryError after a long wait). ``what`` names the arguments that set its size."""
    if count > limit:
        raise ValueError(
            f"{what} would need an array of {count:,} values; the limit is {limit:,} "
            f"(about {limit * 8 // 2**20:,} MB of float64)"
        )


MAX_WEIGHTS = 2**27  # one module's weights: 512 MB of float32


def check_weights_budget(what: str, count: int, limit: int = MAX_WEIGHTS) -> None:
    """Refuse, before PyTorch allocates them, a module of more than ``limit`` weights (a clear
    ValueError naming the arguments, not the allocator's RuntimeError or a long wait)."""
    if count > limit:
        raise ValueError(
            f"{what} would make about {count:,} weights; the limit is {limit:,} (512 MB of float32): use fewer channels"
        )


def check_dilations(value: Any, name: str = "dilations") -> tuple[int, ...]:
    """A non-empty ordered sequence of integers >= 1 (a stack of layers' dilation rates).

    A set is refused: its order is not the order of the layers (``{4, 1}`` iterates as 1, 4).
    """
    if isinstance(value, str | bytes | Set | Mapping) or not isinstance(value, Iterable):
        raise TypeError(
            f"{name} must be a sequence of integers, got {value!r} (want a list or a tuple, in layer order)"
        )
    rates = tuple(value)
    if not rates:
        raise ValueError(f"{name} must not be empty, got {value!r}")
    return tuple(check_int(f"{name}[{i}]", d) for i, d in enumerate(rates))


def check_odd_kernel(kernel_size: Any, name: str = "kernel_size") -> int:
    """An odd integer >= 1: a kernel centred on its output (what 'same' padding and hole counts assume)."""
    k = check_int(name, kernel_size)
    if k % 2 == 0:
        raise ValueError(
            f"{name} must be odd (a kernel centred on its output pixel, as 'same' padding places it), got {name}={k}"
        )
    return k


def check_cmap(name: str, value: Any) -> str:
    """The name of a registered matplotlib colour map ('viridis', 'Blues', 'gray', 'RdBu_r', ...)."""
    check_str(name, value)
    from matplotlib import colormaps

    if value not in colormaps:
        raise ValueError(f"{name} must be a matplotlib colour map such as 'viridis' or 'Blues', got {value!r}")
    return value


def check_optional(check: Callable[..., Any], name: str, value: Any, *args: Any, **kwargs: Any) -> Any:
    """``None``, or whatever ``check(name, value, ...)`` accepts."""
    return None if value is None else check(name, value, *args, **kwargs)


def check_named_mapping(name: str, value: Any, what: str) -> Mapping:
    """A non-empty dict keyed by names (strings), e.g. ``{name: dilation rates}``; ``what`` says what
    the values are. Each value is left for the caller to check."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict {{name: {what}}}, got {value!r}")
    if not value:
        raise ValueError(f"{name} must not be empty, got {value!r}")
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"{name} must be keyed by names (strings), got key {key!r}")
    return value
