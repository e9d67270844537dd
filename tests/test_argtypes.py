"""``pisces.argtypes.float_in``: the half-open interval, finite values only."""

from __future__ import annotations

import argparse

import pytest

from pisces.argtypes import float_in


def test_float_in_keeps_the_low_end_and_refuses_the_high_end():
    parse = float_in(0.0, 1.0)
    assert parse("0") == 0.0 and parse("0.99") == 0.99
    for text, message in (
        ("1.0", r"must be in \[0, 1\), got 1.0"),
        ("-0.1", r"must be in \[0, 1\), got -0.1"),
        ("nan", "is not finite"),
        ("x", "'x' is not float"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            parse(text)
