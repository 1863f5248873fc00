"""Checks of tuning-data records: trace headers, `measure` and `compile` records, Kernel Tuner
cache values. Each returns a problem description (or None), so that the reader can add the
file and line; none raises.
"""
from __future__ import annotations

import math

from ..validate import is_int, is_number

_STATUSES = ("ok", "compile_error", "runtime_error", "wrong_answer", "timeout")


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
