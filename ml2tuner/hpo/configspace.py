"""A tuner's hyperparameter table as a ConfigSpace search space, and back.

Generated from the `HP` entries only: ints and floats become uniform (or log-uniform) ranges,
choices that are numbers in ascending order become ordinal, other choices categorical, and a
`condition = (parent, values)` becomes an `InCondition`. A conditional setting whose parent is
not searched (it stays at its default) is searched only when that default activates it.
"""
from __future__ import annotations

from ConfigSpace import (CategoricalHyperparameter, ConfigurationSpace, InCondition,
                         OrdinalHyperparameter, UniformFloatHyperparameter,
                         UniformIntegerHyperparameter)

from ..errors import UserError
from ..hparams import HP, check_table


def is_ordinal(hp: HP) -> bool:
    ch = hp.choices or ()
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in ch)
    return bool(ch) and numeric and list(ch) == sorted(ch)


def _hyperparameter(name: str, hp: HP):
    if hp.choices is not None:
        if is_ordinal(hp):
            return OrdinalHyperparameter(name, list(hp.choices), default_value=hp.default)
        return CategoricalHyperparameter(name, list(hp.choices), default_value=hp.default)
    if hp.low is None or hp.high is None or hp.low >= hp.high:
        raise UserError(f"hyperparameter {name!r} has no [low, high] range to search")
    if hp.log and hp.low <= 0:
        raise UserError(f"hyperparameter {name!r} is log-scaled but its low bound is <= 0")
    if hp.kind == "int":
        return UniformIntegerHyperparameter(name, int(hp.low), int(hp.high), log=hp.log,
                                            default_value=int(hp.default))
    return UniformFloatHyperparameter(name, float(hp.low), float(hp.high), log=hp.log,
                                      default_value=float(hp.default))


def searched(table: dict, names=None, space_kinds=None) -> dict:
    """The entries HPO searches: `names` if given, else those marked tunable that act on one of
    `space_kinds` (the training spaces' kinds, `hparams.SPACE_KINDS`; None: every kind); minus
    conditional ones that the fixed (unsearched) parent's default switches off."""
    check_table(table)
    if names:
        unknown = [n for n in names if n not in table]
        if unknown:
            raise UserError(f"unknown hyperparameter {unknown[0]!r}; known: {', '.join(table)}")
        picked = {n: table[n] for n in names}
    else:
        picked = {n: hp for n, hp in table.items() if hp.tunable
                  and (space_kinds is None or hp.acts == "any" or hp.acts in space_kinds)}
    defaults = {n: hp.default for n, hp in table.items()}
    out = {n: hp for n, hp in picked.items()
           if hp.condition is None or hp.condition[0] in picked or hp.active(defaults)}
    if not out:
        raise UserError("no hyperparameter to search")
    return out


def to_configspace(table: dict, seed: int = 0) -> ConfigurationSpace:
    """`table` ({name: HP}, e.g. from `searched`) as a ConfigurationSpace with conditions."""
    cs = ConfigurationSpace(seed=int(seed))
    hps = {n: _hyperparameter(n, hp) for n, hp in table.items()}
    cs.add(list(hps.values()))
    conds = [InCondition(hps[n], hps[hp.condition[0]], list(hp.condition[1]))
             for n, hp in table.items() if hp.condition and hp.condition[0] in hps]
    if conds:
        cs.add(conds)
    return cs


def _plain(v):
    """numpy scalars from ConfigSpace as Python values (JSON, hashing, the tuner)."""
    return v.item() if hasattr(v, "item") else v


def canonical(table: dict, hparams: dict) -> dict:
    """Every entry of `table` set: given values, else defaults; an inactive setting takes its
    default (it has no effect), so equivalent settings compare equal."""
    out = {n: _plain(hparams.get(n, hp.default)) for n, hp in table.items()}
    for n, hp in table.items():      # a parent outside `table` is fixed: `searched` checked it
        if hp.condition and hp.condition[0] in table and not hp.active(out):
            out[n] = hp.default
    return out


def to_hparams(config, table: dict) -> dict:
    """A ConfigSpace configuration as a full, canonical setting of `table`."""
    return canonical(table, dict(config))


__all__ = ["canonical", "is_ordinal", "searched", "to_configspace", "to_hparams"]
