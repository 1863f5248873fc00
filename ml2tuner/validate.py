"""Checks shared by the readers and the command line: numbers, JSON, records, output paths.

Each check returns the value it accepted or raises `UserError` with one line naming the problem.
Record checks return a problem description (or None) so that a reader can add file and line.
"""
from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

from .errors import UserError

_STATUSES = ("ok", "compile_error", "runtime_error", "wrong_answer", "timeout")


# ----- numbers -----------------------------------------------------------------------------------
def is_number(v) -> bool:
    """A finite int or float (bool is not a number here, NaN and infinities are not finite)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def number(v, what: str, *, low=None, high=None, integer: bool = False):
    """`v` if it is a finite number (an integer when `integer`) in [low, high]."""
    if not (is_int(v) if integer else is_number(v)):
        kind = "an integer" if integer else "a finite number"
        raise UserError(f"{what} must be {kind}, got {v!r}")
    if (low is not None and v < low) or (high is not None and v > high):
        rng = f"in [{low}, {high}]" if low is not None and high is not None else (
            f">= {low}" if low is not None else f"<= {high}")
        raise UserError(f"{what} must be {rng}, got {v!r}")
    return v


# ----- JSON ---------------------------------------------------------------------------------------
def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"key {k!r} given twice")
        out[k] = v
    return out


def loads_strict(text: str):
    """json.loads without NaN/Infinity and without repeated keys (ValueError names them)."""
    return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)


def read_json_file(path, what: str):
    """Parse a small JSON file strictly; every failure is one UserError line."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{what} {p} is a directory, not a JSON file")
    if not p.is_file():
        raise UserError(f"{what} not found: {p}")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise UserError(f"cannot read {what} {p}: {e.strerror}") from None
    try:
        return loads_strict(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{p}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except (ValueError, RecursionError) as e:
        raise UserError(f"{p}: not valid JSON ({e})") from None


# ----- trace records ------------------------------------------------------------------------------
def compile_record_problem(rec: dict, space_size: int | None) -> str | None:
    """What is wrong with a `compile` record (schema 2), or None."""
    if not is_int(rec.get("index")) or rec["index"] < 0 or (
            space_size is not None and rec["index"] >= space_size):
        return f"'index' must be a configuration of the space, got {rec.get('index')!r}"
    if rec.get("status") not in _STATUSES:
        return f"'status' must be one of {', '.join(_STATUSES)}, got {rec.get('status')!r}"
    for key in ("compile_time", "clock"):
        v = rec.get(key)
        if not is_number(v) or v < 0:
            return f"{key!r} must be a non-negative number, got {v!r}"
    return None


def measure_record_problem(rec: dict) -> str | None:
    """What is wrong with the types and values of a `measure` record, or None. Keys this
    version does not know are left alone (later schemas add fields)."""
    if not is_int(rec.get("index")) or rec["index"] < 0:
        return f"'index' must be a non-negative integer, got {rec.get('index')!r}"
    if "seq" in rec and (not is_int(rec["seq"]) or rec["seq"] < 0):
        return f"'seq' must be a non-negative integer, got {rec['seq']!r}"
    if not isinstance(rec.get("config"), dict):
        return "'config' must be a JSON object"
    status = rec.get("status")
    if status not in _STATUSES:
        return f"'status' must be one of {', '.join(_STATUSES)}, got {status!r}"
    cost = rec.get("cost")
    if status == "ok":
        if not is_number(cost) or cost <= 0:
            return f"an 'ok' measurement needs a positive finite 'cost', got {cost!r}"
    elif cost is not None and not is_number(cost):
        return f"'cost' must be a finite number or null, got {cost!r}"
    for key in ("cycles", "gflops"):
        v = rec.get(key)
        if v is not None and (not is_number(v) or v < 0):
            return f"{key!r} must be a non-negative number or null, got {v!r}"
    for key in ("counters", "hidden"):
        v = rec.get(key)
        if v is not None and not isinstance(v, dict):
            return f"{key!r} must be a JSON object, got {type(v).__name__}"
    for key in ("profile_time", "compile_time", "run_time", "clock"):      # schema 2 adds three
        v = rec.get(key)
        if v is not None and (not is_number(v) or v < 0):
            return f"{key!r} must be a non-negative number, got {v!r}"
    if not isinstance(rec.get("error", ""), str):
        return "'error' must be a string"
    return None


def header_problem(rec: dict) -> str | None:
    """What is wrong with a trace header's space description (and other known fields)."""
    space = rec.get("space")
    if not isinstance(space, dict):
        return "header 'space' must be a JSON object"
    knobs = space.get("knobs")
    if not isinstance(knobs, dict) or not all(isinstance(v, list) for v in knobs.values()):
        return "header space 'knobs' must map knob names to lists of values"
    for name, values in knobs.items():
        if not all(isinstance(x, (str, int, float)) and (not isinstance(x, float)
                                                         or math.isfinite(x)) for x in values):
            return f"knob {name!r}: values must be numbers or strings"
    members = space.get("members")
    if members is not None and (not isinstance(members, list)
                                or not all(is_int(m) for m in members)):
        return "header space 'members' must be a list of integers"
    for key in ("accel", "descriptor"):
        if key in rec and rec[key] is not None and not isinstance(rec[key], dict):
            return f"header {key!r} must be a JSON object"
    if "workload" in rec and not isinstance(rec["workload"], (str, type(None))):
        return "header 'workload' must be a string"
    return None


def result_problem(r, space) -> str | None:
    """A measurement that is not a member of `space`, or whose config disagrees with its index."""
    if not 0 <= r.index < len(space):
        return f"index {r.index} outside the space of size {len(space)}"
    if space.index_to_config(r.index) != r.config:
        return f"config {r.config} is not the configuration of index {r.index}"
    return None


# ----- output paths -------------------------------------------------------------------------------
def _existing_ancestor(p: Path) -> Path:
    p = p.absolute()
    while not p.exists():
        p = p.parent
    return p


def check_output_file(path, what: str, *, force: bool = True, suffixes=None) -> Path:
    """Check, before any work, that a file can be written at `path` (its folders are created
    when it is written). An existing file is refused unless `force`."""
    p = Path(path)
    if not str(path).strip():
        raise UserError(f"{what}: empty path")
    if p.is_dir():
        raise UserError(f"{what} {p} is a directory; give a file name")
    if p.exists() and not force:
        raise UserError(f"{what} {p} exists; pass --force to overwrite it")
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise UserError(f"{what} {p}: unsupported file type {p.suffix or '(none)'!r} "
                        f"(use one of {', '.join(sorted(suffixes))})")
    _check_parent(p, what)
    return p


def check_output_dir(path, what: str) -> Path:
    """Check, before any work, that `path` is a folder or can be made one."""
    p = Path(path)
    if not str(path).strip():
        raise UserError(f"{what}: empty path")
    if p.exists() and not p.is_dir():
        raise UserError(f"{what} {p} exists and is not a directory")
    if p.is_dir():
        if not os.access(p, os.W_OK | os.X_OK):
            raise UserError(f"{what} {p} is not writable")
        return p
    _check_parent(p, what)
    return p


def check_bundle_dir(path, what: str) -> Path:
    """Like `check_output_dir`, for a model bundle that replaces the folder as a whole: an
    existing folder must be empty or a bundle (holding manifest.json), never other files."""
    p = check_output_dir(path, what)
    if p.is_dir() and any(p.iterdir()) and not (p / "manifest.json").is_file():
        raise UserError(f"{what} {p} is a folder that is not a model bundle; choose a new or "
                        "empty folder (it would be replaced as a whole)")
    return p


def _check_parent(p: Path, what: str):
    anc = _existing_ancestor(p.parent)
    if not anc.is_dir():
        raise UserError(f"{what} {p}: {anc} is not a directory")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise UserError(f"{what} {p}: cannot create files under {anc} (not writable)")


# ----- argparse types -----------------------------------------------------------------------------
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


# ----- Kernel Tuner caches ------------------------------------------------------------------------
_RATE_OBJECTIVES = ("GFLOP/s", "GB/s", "TFLOP/s")


def kt_value_problem(value, objective: str) -> str | None:
    """An objective value must be a number, or a string/null naming a failure; a time must be
    positive and a rate non-negative (anything else is impossible data, not a result)."""
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"objective {objective!r} must be a number or an error name, got {value!r}"
    if not math.isfinite(value):
        return None                 # recorded as a failed run, like Kernel Tuner's own
    if objective == "time" and value <= 0:
        return f"time {value!r} is not positive"
    if objective in _RATE_OBJECTIVES and value < 0:
        return f"{objective} {value!r} is negative"
    return None


def kt_times_problem(times: dict, keys) -> str | None:
    """Recorded durations (compile, verification, benchmark, ...) are non-negative numbers."""
    for k in keys:
        v = times.get(k)
        if v is not None and (not is_number(v) or v < 0):
            return f"{k!r} must be a non-negative number, got {v!r}"
    return None
