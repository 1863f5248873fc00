"""Hyperparameter tables: every tunable setting of a tuner, with default and range.

Each tuner class declares `HYPERPARAMETERS = {name: HP(...)}`; the HPO loop reads the table as
its search space, and `resolve()` checks user-supplied values against it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import UserError


@dataclass(frozen=True)
class HP:
    default: object
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    log: bool = False
    doc: str = ""

    @property
    def kind(self) -> str:
        if self.choices is not None:
            return "categorical"
        return "int" if isinstance(self.default, int) and not isinstance(self.default, bool) \
            else "float"

    def check(self, name: str, value):
        if self.choices is not None:
            # by type too: 1 == True in Python, but 1 is not the choice True
            if not any(value == c and type(value) is type(c) for c in self.choices):
                raise UserError(f"hyperparameter {name}={value!r} not in {list(self.choices)}")
            return value
        if isinstance(value, bool):
            raise UserError(f"hyperparameter {name} must be a number, got {value!r}")
        try:
            v = int(value) if self.kind == "int" else float(value)
        except (TypeError, ValueError, OverflowError):
            raise UserError(f"hyperparameter {name} must be a number, got {value!r}") from None
        if not math.isfinite(float(value)):
            raise UserError(f"hyperparameter {name} must be a finite number, got {value!r}")
        if self.kind == "int" and float(value) != v:
            raise UserError(f"hyperparameter {name} must be an integer, got {value!r}")
        if (self.low is not None and v < self.low) or (self.high is not None and v > self.high):
            raise UserError(f"hyperparameter {name}={v} outside [{self.low}, {self.high}]")
        return v


def resolve(table: dict, given: dict) -> dict:
    """Defaults of `table` overridden by `given` (checked); unknown names are an error."""
    unknown = sorted(set(given) - set(table))
    if unknown:
        raise UserError(f"unknown hyperparameter {unknown[0]!r}; known: {', '.join(table)}")
    out = {k: hp.default for k, hp in table.items()}
    out.update({k: table[k].check(k, v) for k, v in given.items()})
    return out


def table_as_dict(table: dict) -> dict:
    return {k: {"default": hp.default, "low": hp.low, "high": hp.high,
                "choices": list(hp.choices) if hp.choices else None, "log": hp.log, "doc": hp.doc}
            for k, hp in table.items()}
