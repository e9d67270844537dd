"""Typed command-line values: each converter refuses what its option cannot mean.

For ``argparse``'s ``type=``: an out-of-range or non-finite value becomes the one-line
``<command>: argument --x: ...`` error of :mod:`pisces.cli` (exit status 2), before any work.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {kind.__name__}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not finite")
    return value


def int_at_least(low: int) -> Callable[[str], int]:
    """Integers ``>= low``."""

    def parse(text: str) -> int:
        value = int(_number(text, int))
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    parse.__name__ = f"int>={low}"
    return parse


def int_in(values: range) -> Callable[[str], int]:
    """Integers in ``values`` (a range)."""

    def parse(text: str) -> int:
        value = int(_number(text, int))
        if value not in values:
            raise argparse.ArgumentTypeError(
                f"must be in [{values.start}, {values.stop - 1}], got {value}"
            )
        return value

    parse.__name__ = "int"
    return parse


def float_at_least(low: float, *, strict: bool = False) -> Callable[[str], float]:
    """Finite floats ``>= low`` (``> low`` with ``strict``)."""

    def parse(text: str) -> float:
        value = float(_number(text, float))
        if value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(
                f"must be {'>' if strict else '>='} {low}, got {value}"
            )
        return value

    parse.__name__ = "float"
    return parse


def float_in(low: float, high: float) -> Callable[[str], float]:
    """Finite floats in the half-open interval ``[low, high)`` (e.g. a discount factor)."""

    def parse(text: str) -> float:
        value = float(_number(text, float))
        if not low <= value < high:
            raise argparse.ArgumentTypeError(f"must be in [{low:g}, {high:g}), got {value}")
        return value

    parse.__name__ = "float"
    return parse


positive_int = int_at_least(1)
nonnegative_int = int_at_least(0)
finite_float = float_at_least(-math.inf)
nonnegative_float = float_at_least(0.0)
positive_float = float_at_least(0.0, strict=True)
