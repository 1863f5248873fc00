"""argparse types of the `ml2tuner` command: a bad value is a one-line usage error (exit 2)."""
from __future__ import annotations

import argparse
import math


def _arg_type(convert, ok, want):
    def parse(text):
        try:
            v = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"expected {want}, got {text!r}")
        return v
    parse.__name__ = want
    return parse


seed_arg = _arg_type(int, lambda v: 0 <= v < 2 ** 32, "an integer seed in 0..2**32-1")
positive_int_arg = _arg_type(int, lambda v: v >= 1, "an integer >= 1")
nonneg_int_arg = _arg_type(int, lambda v: v >= 0, "an integer >= 0")
nonneg_float_arg = _arg_type(float, lambda v: math.isfinite(v) and v >= 0,
                             "a finite number >= 0")
fraction_arg = _arg_type(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
probability_arg = _arg_type(float, lambda v: 0 < v < 1, "a number in (0, 1)")
