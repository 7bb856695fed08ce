"""Value checks shared by every lanco config: each raises ``ValueError`` naming the field, the value and
what is allowed. Nothing is clamped."""

from __future__ import annotations

import math
from collections.abc import Iterable


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer{' or None' if allow_none else ''}, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name}={value} is out of range; allowed: {_interval(minimum, maximum, True, True)}")


def check_float(
    name: str,
    value,
    minimum: float | None = None,
    maximum: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    low_ok = minimum is None or (value >= minimum if min_inclusive else value > minimum)
    high_ok = maximum is None or (value <= maximum if max_inclusive else value < maximum)
    if not (low_ok and high_ok):
        raise ValueError(
            f"{name}={value} is out of range; allowed: {_interval(minimum, maximum, min_inclusive, max_inclusive)}"
        )


def check_choice(name: str, value, choices: Iterable) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not supported; allowed values: {', '.join(map(repr, choices))}")


def check_subset(name: str, values, choices: Iterable) -> None:
    choices = tuple(choices)
    if isinstance(values, str) or not isinstance(values, (list, tuple, set)):
        raise ValueError(f"{name} must be a list drawn from {', '.join(map(repr, choices))}, got {values!r}")
    unknown = [v for v in values if v not in choices]
    if unknown:
        raise ValueError(f"{name} contains {unknown!r}; allowed values: {', '.join(map(repr, choices))}")


def check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_divides(name: str, value: int, divisor_name: str, divisor: int) -> None:
    if value % divisor:
        raise ValueError(f"{name}={value} must be divisible by {divisor_name}={divisor}")


def _interval(minimum, maximum, min_inclusive: bool, max_inclusive: bool) -> str:
    low = "(-inf" if minimum is None else f"{'[' if min_inclusive else '('}{minimum}"
    high = "inf)" if maximum is None else f"{maximum}{']' if max_inclusive else ')'}"
    return f"{low}, {high}"
