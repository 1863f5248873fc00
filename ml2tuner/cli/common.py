"""What every subcommand shares: output (`emit`), `--hp` parsing, JSON arguments and the
accelerator/workload flags. Bad input raises `UserError` (one line, exit status 2)."""
from __future__ import annotations

import json

from ..errors import UserError


def emit(obj, as_json: bool, human=None) -> None:
    """Print a command's result: one JSON line with `--json` (numpy numbers as floats), else
    `human(obj)`'s text (or the JSON line when a command has no text form)."""
    if as_json or human is None:
        print(json.dumps(obj, default=float))
    else:
        human(obj)


def parse_hp(items) -> dict:
    """`--hp NAME=VALUE ...` as a dict; each VALUE is read as JSON, else kept as a string."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--hp expects NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def hp_from_args(tuner: str, items, hp_file=None, kernel=None) -> dict:
    """Hyperparameters from `--hp-file FILE` (a settings file of `ml2tuner hpo`; with one
    setting per kind of layer, `kernel`'s), overridden by `--hp NAME=VALUE`."""
    from ..hparams import load_settings
    from ..tuners import TUNERS
    out = load_settings(hp_file, tuner, TUNERS[tuner].HYPERPARAMETERS, kernel) \
        if hp_file else {}
    out.update(parse_hp(items))
    return out


def json_arg(text: str, what: str):
    """`text` parsed as strict JSON (no NaN, no duplicate keys); `what` names the flag."""
    from ..validate import parse_json
    return parse_json(text, what, at="character")


def accel_args(p) -> None:
    """`--accel` and `--workload` of the accelerator-simulator commands."""
    p.add_argument("--accel", default="vta-1x16",
                   help="accelerator name in accel/ or path to a JSON file (default vta-1x16)")
    p.add_argument("--workload", default="resnet18.C2",
                   help="resnet18.C2..C11, conv2d:H=..,W=..,IC=..,OC=..,K=..,pad=..,stride=.. "
                        "or dense:N=..,IC=..,OC=.. (default resnet18.C2)")
