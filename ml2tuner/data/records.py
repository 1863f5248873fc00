"""Conventions every reader of tuning data shares.

* **Numbers.** `feature_number` reads a value for a model's feature matrix: an int or float
  (not a bool) as float, anything else as `FILL_VALUE`. `finite_number` reads a measured value:
  a finite int or float as float, anything else (error strings, None, NaN, inf) as None.
* **Missing features.** An absent knob, task descriptor or hidden feature is `FILL_VALUE` = NaN,
  XGBoost's "missing": its trees learn a default branch instead of mistaking absence for a real
  value. Offline training, evaluation, bundles, warm start and the tuner's own Model A all use it,
  so a model is fed at tuning time as it was trained.
* **Duplicates.** A configuration measured more than once counts by its *first* record
  (`first_records`); later ones are skipped and counted. A tuning run never measures one twice,
  so a repeat means two runs were appended together; the first is what the run saw.
"""
from __future__ import annotations

import math

FILL_VALUE = float("nan")


def feature_number(v) -> float:
    """`v` as a float feature value; `FILL_VALUE` for anything that is not a number."""
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else FILL_VALUE


def finite_number(v) -> float | None:
    """`v` as a finite float; None for error strings, None, NaN, inf and the like."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def hidden_row(hidden: dict, names) -> list[float]:
    """The hidden features `names` of one compiled configuration, `FILL_VALUE` where absent."""
    return [feature_number(hidden.get(k, FILL_VALUE)) for k in names]


def first_records(results, index=lambda r: r.index):
    """The records of `results` whose configuration was not seen before (the first record of
    each), and how many repeats were skipped."""
    seen, out = set(), []
    for r in results:
        i = index(r)
        if i not in seen:
            seen.add(i)
            out.append(r)
    return out, len(results) - len(out)


__all__ = ["FILL_VALUE", "feature_number", "finite_number", "hidden_row", "first_records"]
