"""Argument checks shared by every module: clear errors that name the parameter and its value."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any


def check_int(name: str, value: Any, minimum: int | None = 1) -> int:
    """Return ``value`` as an int, or raise naming ``name`` if it is not an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_int_tuple(name: str, value: Any, length: int, minimum: int | None = 1) -> tuple[int, ...]:
    """An int (repeated ``length`` times) or a sequence of exactly ``length`` ints, each >= minimum."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != length:
            raise ValueError(f"{name} must be an integer or a sequence of {length} integers, got {value!r}")
        return tuple(check_int(f"{name}[{i}]", v, minimum) for i, v in enumerate(value))
    return (check_int(name, value, minimum),) * length


def check_dilations(value: Any, name: str = "dilations") -> tuple[int, ...]:
    """A non-empty sequence of integers >= 1 (a stack of layers' dilation rates)."""
    if isinstance(value, str) or not isinstance(value, Sequence | range) and not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence of integers, got {value!r}")
    rates = tuple(value)
    if not rates:
        raise ValueError(f"{name} must not be empty, got {value!r}")
    return tuple(check_int(f"{name}[{i}]", d) for i, d in enumerate(rates))
