"""Hyperparameter tables: every tunable setting of a tuner, with default and range.

Each tuner class declares `HYPERPARAMETERS = {name: HP(...)}`; the HPO loop reads the table as
its search space, and `resolve()` checks user-supplied values against it.

`tunable` says whether HPO searches the setting by default (a user may still name it);
`condition = (parent, values)` says the setting only matters while hyperparameter `parent`
takes one of `values` (e.g. simulated-annealing settings only when that explorer runs), which
HPO turns into a conditional search space. `acts` says which spaces the setting acts on: any,
only those with a compiler (hidden features, Model A) or only those without; HPO's default
search leaves out the settings that act on none of its training spaces.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .errors import UserError


@dataclass(frozen=True)
class HP:
    """One hyperparameter of a tuner's table.

    A numeric one is an int when its `default` is an int, else a float, in [low, high] (either
    bound may be None), searched on a log scale when `log`; a categorical one takes exactly one
    of `choices` (compared by type too: 1 is not True). `check` returns the value converted to
    its kind or raises `UserError` naming the setting; the default itself must pass `check`.
    `tunable`: HPO searches it unless the user names others; `condition`: it only matters while
    another setting takes one of the listed values.
    """
    default: object
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    log: bool = False
    doc: str = ""
    tunable: bool = True
    condition: tuple | None = None      # (parent name, tuple of parent values)
    acts: str = "any"                   # "any", "compiler" or "no_compiler" (see SPACE_KINDS)

    def active(self, values: dict) -> bool:
        """Whether the setting matters, given the other settings' values."""
        if self.condition is None:
            return True
        parent, allowed = self.condition
        return values.get(parent) in tuple(allowed)

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


#: the kinds of space a setting can act on alone: with a compiler (hidden features) or without
SPACE_KINDS = ("compiler", "no_compiler")


def acting_on(table: dict, compiler=(), no_compiler=()) -> dict:
    """`table` with the entries named in `compiler` / `no_compiler` marked as acting only on
    spaces of that kind."""
    out = dict(table)
    for kind, names in (("compiler", compiler), ("no_compiler", no_compiler)):
        for n in names:
            out[n] = replace(out[n], acts=kind)
    return out


def check_table(table: dict) -> None:
    """A condition must name another hyperparameter of the table and values it can take;
    `acts` must be "any" or one of SPACE_KINDS."""
    for k, hp in table.items():
        if hp.acts != "any" and hp.acts not in SPACE_KINDS:
            raise ValueError(f"hyperparameter {k!r}: acts={hp.acts!r} is not 'any' or one of "
                             f"{SPACE_KINDS}")
        if hp.condition is None:
            continue
        parent, allowed = hp.condition
        if parent not in table or parent == k:
            raise ValueError(f"hyperparameter {k!r}: condition on unknown {parent!r}")
        for v in allowed:
            table[parent].check(parent, v)


def table_as_dict(table: dict) -> dict:
    return {k: {"default": hp.default, "low": hp.low, "high": hp.high,
                "choices": list(hp.choices) if hp.choices else None, "log": hp.log, "doc": hp.doc,
                "tunable": hp.tunable, "acts": hp.acts,
                "condition": [hp.condition[0], list(hp.condition[1])] if hp.condition else None}
            for k, hp in table.items()}


# ----- settings files ------------------------------------------------------------------------
SETTINGS_KIND = "ml2tuner-hyperparameters"


def save_settings(path, tuner: str, hparams: dict, **info) -> None:
    """A JSON settings file that `tune --hp-file` and `replay --hp-file` load."""
    import json
    from pathlib import Path
    d = {"kind": SETTINGS_KIND, "version": 1, "tuner": tuner, "hparams": dict(hparams), **info}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(d, indent=2, default=float) + "\n")


def load_settings(path, tuner: str, table: dict, kernel: str | None = None) -> dict:
    """The hyperparameters of a settings file, checked against `table` (JSON only). A file
    with one setting per kind of layer (`by_kernel`, from `hpo --per-kind`) gives the setting
    of `kernel` ('1x1' or 'KxK', the layer being tuned)."""
    import json
    from pathlib import Path
    p = Path(path)
    if not p.is_file():
        raise UserError(f"settings file not found: {path}")
    try:
        d = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a JSON settings file ({e})") from None
    if not isinstance(d, dict) or d.get("kind") != SETTINGS_KIND \
            or not isinstance(d.get("hparams"), dict):
        raise UserError(f"{path}: not an ml2tuner settings file (written by `ml2tuner hpo`)")
    if d.get("tuner") != tuner:
        raise UserError(f"{path}: settings are for tuner {d.get('tuner')!r}, not {tuner!r}")
    hp = d["hparams"]
    if "by_kernel" in d:
        groups = d["by_kernel"]
        if not (isinstance(groups, dict) and groups
                and all(isinstance(v, dict) for v in groups.values())):
            raise UserError(f"{path}: 'by_kernel' must map kinds of layer to settings")
        if kernel is None:
            raise UserError(f"{path}: holds one setting per kind of layer "
                            f"({', '.join(groups)}); it applies to accelerator layers, whose "
                            "kernel size picks the setting")
        if kernel not in groups:
            raise UserError(f"{path}: no setting for {kernel} layers (it has "
                            f"{', '.join(groups)})")
        hp = groups[kernel]
    resolve(table, hp)                 # checks names and ranges
    return dict(hp)
