"""Value checks shared by every lanco config and model input: each raises ``ValueError`` naming the field, the
value and what is allowed. Nothing is clamped."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


def check_int(
    name: str, value, minimum: int | None = None, maximum: int | None = None, allow_none: bool = False
) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer{' or None' if allow_none else ''}, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(
            f"{name}={value} is out of range; allowed: {_interval(minimum, maximum, True, True)}"
            f"{' or None' if allow_none else ''}"
        )


def check_float(
    name: str,
    value,
    minimum: float | None = None,
    maximum: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
    allow_none: bool = False,
) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number{' or None' if allow_none else ''}, got {value!r}")
    low_ok = minimum is None or (value >= minimum if min_inclusive else value > minimum)
    high_ok = maximum is None or (value <= maximum if max_inclusive else value < maximum)
    if not (low_ok and high_ok):
        raise ValueError(
            f"{name}={value} is out of range; allowed: {_interval(minimum, maximum, min_inclusive, max_inclusive)}"
            f"{' or None' if allow_none else ''}"
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


def check_int_list(
    name: str, values, minimum: int | None = None, maximum: int | None = None, odd: bool = False
) -> None:
    """A non-empty list of integers, each in ``[minimum, maximum]`` (and odd with ``odd=True``)."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name} must be a non-empty list of integers, got {values!r}")
    allowed = f"{'odd ' if odd else ''}integers in {_interval(minimum, maximum, True, True)}"
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must hold integers, got {values!r}")
        if (
            (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
            or (odd and value % 2 == 0)
        ):
            raise ValueError(f"{name} contains {value}; allowed: {allowed}")


def check_num_labels(kwargs: dict, minimum: int = 1) -> None:
    """Check a ``num_labels`` passed to a config before ``PreTrainedConfig`` builds ``id2label`` from it (where a
    non-integer would raise a bare ``TypeError``)."""
    if "num_labels" in kwargs:
        check_int("num_labels", kwargs["num_labels"], minimum=minimum)


def check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_divides(name: str, value: int, divisor_name: str, divisor: int) -> None:
    if value % divisor:
        raise ValueError(f"{name}={value} must be divisible by {divisor_name}={divisor}")


def is_tracing() -> bool:
    """True under ``torch.compile`` / ``torch.jit`` / ``torch.export``, where input checks that read tensor values are
    skipped: they would break the graph (the eager run checks the same inputs)."""
    return torch.compiler.is_compiling() or torch.jit.is_tracing() or torch.jit.is_scripting()


def check_token_ids(name: str, ids: torch.Tensor, vocab_size: int) -> None:
    """``ids`` is a non-empty ``(batch, length)`` integer tensor with every value in ``[0, vocab_size)``. One
    min/max reduction (a single host sync), skipped under tracing."""
    if ids.dim() != 2 or ids.shape[0] == 0 or ids.shape[1] == 0:
        raise ValueError(f"{name} must have shape (batch_size, sequence_length) with both > 0, got {tuple(ids.shape)}")
    if ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
        raise ValueError(f"{name} must be an integer tensor, got dtype {ids.dtype}")
    if is_tracing():
        return
    low, high = torch.aminmax(ids)
    if low < 0 or high >= vocab_size:
        raise ValueError(f"{name} must lie in [0, vocab_size={vocab_size}); got values in [{int(low)}, {int(high)}]")


def check_mask_shape(name: str, mask: torch.Tensor | None, expected: tuple[int, ...], of: str) -> None:
    """``mask`` is ``None`` or has exactly the shape ``expected`` (that of ``of``); never broadcast silently."""
    if mask is not None and tuple(mask.shape) != tuple(expected):
        raise ValueError(f"{name} has shape {tuple(mask.shape)}; it must match {of}: {tuple(expected)}")


def check_text_inputs(input_ids: torch.Tensor | None, attention_mask: torch.Tensor | None, vocab_size: int) -> None:
    """The ``input_ids`` / ``attention_mask`` pair of a text encoder (either may be ``None``)."""
    if input_ids is not None:
        check_token_ids("input_ids", input_ids, vocab_size)
        check_mask_shape("attention_mask", attention_mask, input_ids.shape, "input_ids")


def _interval(minimum, maximum, min_inclusive: bool, max_inclusive: bool) -> str:
    low = "(-inf" if minimum is None else f"{'[' if min_inclusive else '('}{minimum}"
    high = "inf)" if maximum is None else f"{maximum}{']' if max_inclusive else ')'}"
    return f"{low}, {high}"
