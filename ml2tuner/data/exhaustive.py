"""Exhaustive tuning data: Kernel Tuner caches (native and T4 schema) and exhaustive ml2tuner traces.

`ExhaustiveData` holds, for every configuration of a `Space`, its status, cost and the time that
profiling it took. It is what simulation mode replays (`replay.py`) and what the statistical score
(`hpo/score.py`) compares against.

Units: cost is seconds per run for a time objective (Kernel Tuner stores milliseconds). For an
objective where higher is better (the hyperparameter caches' `score`, GFLOP/s, ...) cost is the
*negated* objective value, unconverted, so that "lower cost is better" holds everywhere.
Profile time is compile + verification + benchmark time, in seconds.
"""
from __future__ import annotations

import gzip
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..measure import Status
from ..space import Knob, Space
from .validation import kt_times_problem, kt_value_problem
from .records import finite_number, first_records

#: objectives whose direction is known; anything else needs an explicit `maximize=`
MINIMIZE_OBJECTIVES = {"time"}
MAXIMIZE_OBJECTIVES = {"score", "GFLOP/s", "GB/s", "TFLOP/s"}

# Kernel Tuner's error names (the objective value of a failed configuration).
_KT_ERRORS = {
    "CompilationFailedConfig": Status.COMPILE_ERROR,
    "RuntimeFailedConfig": Status.RUNTIME_ERROR,
    # InvalidConfig: the configuration breaks a restriction or a device limit (e.g. too many
    # threads per block) and is rejected before it is run. Like a compile error it costs no
    # run and is predictable from the knobs alone, which is what Model V learns.
    "InvalidConfig": Status.COMPILE_ERROR,
}
# Kernel Tuner before its error classes recorded a failed configuration as this objective value
# (and still uses 1e20 as bayes_opt's invalid value); no real measurement comes near it.
FAILURE_MARKER = 1e20

# T4 `invalidity` field, used when the measurement value itself is numeric or unknown.
_T4_INVALIDITY = {"correct": Status.OK, "compile": Status.COMPILE_ERROR,
                  "constraints": Status.COMPILE_ERROR, "runtime": Status.RUNTIME_ERROR,
                  "correctness": Status.WRONG_ANSWER}


@dataclass
class ExhaustiveData:
    """Status, cost and profile time of every configuration of `space`, by space index.

    cost: float seconds (or -objective when maximising), nan where not OK.
    status: array of `Status` *values* (str, e.g. "ok"); compare with `Status.X.value` or use
    `is_status`, because numpy compares a str-enum member by its name, not its value.
    profile_time: seconds charged for profiling the configuration (failures included).
    """

    space: Space
    cost: np.ndarray
    status: np.ndarray
    profile_time: np.ndarray
    meta: dict = field(default_factory=dict)
    error: np.ndarray | None = None    # recorded error text per index ("" where OK)
    hidden: list | None = None         # per index: hidden-feature dict, None for compile errors
    flops: float | None = None         # workload FLOPs, to turn cost into GFLOPS
    #: per index, the compile part of profile_time (None when the data does not split it)
    compile_time: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.space)
        self.cost = np.asarray(self.cost, dtype=np.float64)
        self.status = np.asarray(self.status, dtype="<U16")
        self.profile_time = np.asarray(self.profile_time, dtype=np.float64)
        for name in ("cost", "status", "profile_time"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have one entry per configuration ({n})")
        if self.hidden is not None and len(self.hidden) != n:
            raise ValueError(f"hidden must have one entry per configuration ({n})")
        if self.compile_time is not None:
            self.compile_time = np.asarray(self.compile_time, dtype=np.float64)
            if self.compile_time.shape != (n,):
                raise ValueError(f"compile_time must have one entry per configuration ({n})")
        self.cost = np.where(self.status == Status.OK.value, self.cost, np.nan)

    # ----- summaries ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.space)

    def is_status(self, status: Status) -> np.ndarray:
        return self.status == Status(status).value

    @property
    def valid(self) -> np.ndarray:
        return self.is_status(Status.OK)

    @property
    def n_valid(self) -> int:
        return int(self.valid.sum())

    @property
    def valid_costs_sorted(self) -> np.ndarray:
        return np.sort(self.cost[self.valid])

    @property
    def optimum(self) -> float:
        """S_opt: the lowest cost of a valid configuration."""
        return float(self._need_valid().min())

    @property
    def median(self) -> float:
        """Median cost over the valid configurations (invalid ones have no cost)."""
        return float(np.median(self._need_valid()))

    @property
    def mean_profile_time(self) -> float:
        """Mean profile time over all configurations, invalid ones included."""
        return float(self.profile_time.mean())

    def status_counts(self) -> dict:
        vals, counts = np.unique(self.status, return_counts=True)
        return {str(v): int(c) for v, c in zip(vals, counts)}

    def _need_valid(self) -> np.ndarray:
        c = self.cost[self.valid]
        if c.size == 0:
            raise UserError(f"{self.meta.get('source', 'data')}: no valid configuration")
        return c

    # ----- constructors ------------------------------------------------------------------------
    @classmethod
    def from_kt_cache(cls, path, objective: str | None = None,
                      maximize: bool | None = None) -> "ExhaustiveData":
        return load_kt_cache(path, objective=objective, maximize=maximize)

    @classmethod
    def from_trace(cls, trace) -> "ExhaustiveData":
        return from_trace(trace)


# ----- reading files -----------------------------------------------------------------------------
def _read_json(path: Path):
    """Parse a (possibly gzipped) JSON file, repairing an unterminated Kernel Tuner cache."""
    if not path.exists():
        raise UserError(f"cache file not found: {path}")
    try:
        if str(path).endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as f:
                text = f.read()
        else:
            text = path.read_text(encoding="utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read cache {path}: {e}") from None
    try:
        return json.loads(text), None
    except json.JSONDecodeError as e:
        first_error = e
    except RecursionError:
        raise UserError(f"{path}: not valid JSON (nested too deeply)") from None
    repaired = _repair_unterminated(text)
    if repaired is None:
        raise UserError(f"{path}: not valid JSON ({first_error.msg} at line "
                        f"{first_error.lineno})") from None
    return repaired


def _repair_unterminated(text: str):
    """Kernel Tuner appends one `"key": {...},` line per configuration and writes the closing
    braces only when tuning ends, so an interrupted run leaves `..."cache": {` + entries with a
    trailing comma, possibly with a half-written last line. Close it; drop at most one line."""
    body = text.rstrip()
    for dropped in (0, 1):
        candidate = body.rstrip().rstrip(",")
        try:
            data = json.loads(candidate + "}}")
        except json.JSONDecodeError:
            cut = body.rfind("\n")
            if cut < 0:
                return None
            body = body[:cut]
            continue
        if isinstance(data, dict) and "cache" in data:
            note = "unterminated cache closed" + (", half-written last entry dropped"
                                                  if dropped else "")
            return data, note
        return None
    return None


def _direction(path, objective: str, maximize: bool | None) -> bool:
    if not isinstance(objective, str):
        raise UserError(f"{path}: the objective must be a name, got {objective!r}")
    if maximize is not None:
        return bool(maximize)
    if objective in MINIMIZE_OBJECTIVES:
        return False
    if objective in MAXIMIZE_OBJECTIVES:
        return True
    raise UserError(f"{path}: unknown objective {objective!r}; known: "
                    f"{sorted(MINIMIZE_OBJECTIVES | MAXIMIZE_OBJECTIVES)} "
                    "(or say whether to maximize it)")


def _status_of(value, invalidity=None) -> Status:
    if isinstance(value, str):
        # any other error name (or a stray string) is a failure seen when running the kernel
        return _KT_ERRORS.get(value, Status.RUNTIME_ERROR)
    if finite_number(value) is None or abs(float(value)) >= FAILURE_MARKER:
        return Status.RUNTIME_ERROR
    if invalidity is not None:
        return _T4_INVALIDITY.get(invalidity, Status.RUNTIME_ERROR)
    return Status.OK


def load_kt_cache(path, objective: str | None = None,
                  maximize: bool | None = None) -> ExhaustiveData:
    """Read a Kernel Tuner cache (native or T4 schema; plain or .gz) as `ExhaustiveData`.

    objective: the objective key (default: the cache's own). maximize: whether higher is better
    (default: known from the objective name; `time` minimises, `score`/GFLOP/s maximise), in
    which case cost = -value.
    """
    path = Path(path)
    data, repair_note = _read_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a Kernel Tuner cache (a JSON object is expected)")
    if "cache" in data:
        rows, knobs, meta = _native_rows(path, data, objective, maximize)
    elif "results" in data and "schema_version" in data:
        rows, knobs, meta = _t4_rows(path, data, objective, maximize)
    else:
        raise UserError(f"{path}: not a Kernel Tuner cache (neither a 'cache' nor a T4 "
                        "'results'/'schema_version' object)")
    if not rows:
        raise UserError(f"{path}: the cache holds no configurations")
    obj = meta["objective"]
    maximize = _direction(path, obj, maximize)
    if maximize:
        scale = -1.0
    elif obj == "time":
        scale = 1e-3   # Kernel Tuner times are milliseconds
    else:
        scale = 1.0
    meta.update(source=str(path), maximize=maximize,
                cost_unit="s" if scale == 1e-3 else (f"-{obj}" if maximize else obj))
    if repair_note:
        meta["repaired"] = repair_note
    return _build(path, knobs, rows, scale, meta)


def _native_rows(path, data, objective, maximize):
    keys, params = data.get("tune_params_keys"), data.get("tune_params")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) \
            or not isinstance(params, dict) \
            or not all(isinstance(params.get(k), list) for k in keys):
        raise UserError(f"{path}: malformed Kernel Tuner cache header ('tune_params_keys' must "
                        "list knob names and 'tune_params' map each to a list of values)")
    try:
        knobs = [Knob(k, tuple(params[k])) for k in keys]
        cache = data["cache"]
    except (KeyError, TypeError) as e:
        raise UserError(f"{path}: malformed Kernel Tuner cache header ({e!r})") from None
    except UserError as e:
        raise UserError(f"{path}: {e}") from None
    if not isinstance(cache, dict):
        raise UserError(f"{path}: 'cache' must be a JSON object")
    obj = objective or data.get("objective")
    if not obj:
        obj = "time"
        print(f"{path}: the cache names no objective; reading it as 'time' (Kernel Tuner's "
              "default)", file=sys.stderr)
    _direction(path, obj, maximize)      # an unknown objective fails before any entry is read
    rows = []
    for key, e in cache.items():
        if not isinstance(e, dict):
            raise UserError(f"{path}: cache entry {key!r} is not a JSON object")
        if obj not in e:
            raise UserError(f"{path}: cache entry {key!r} has no objective {obj!r}")
        problem = kt_value_problem(e[obj], obj) or kt_times_problem(
            e, ("compile_time", "verification_time", "benchmark_time"))
        if problem:
            raise UserError(f"{path}: cache entry {key!r}: {problem}")
        if all(k in e for k in keys):
            config = {k: e[k] for k in keys}
        else:   # fall back on the "v1,v2,..." key
            parts = str(key).split(",")
            if len(parts) != len(keys):
                raise UserError(f"{path}: cache key {key!r} does not match tune_params_keys")
            config = {}
            for kn, s in zip(knobs, parts):
                match = [v for v in kn.values if str(v) == s]
                if not match:
                    raise UserError(f"{path}: cache key {key!r}: {s!r} is not a value of "
                                    f"{kn.name!r}")
                config[kn.name] = match[0]
        ptime = sum(finite_number(e.get(k)) or 0.0
                    for k in ("compile_time", "verification_time", "benchmark_time"))
        gflops = finite_number(e.get("GFLOP/s"))
        rows.append((str(key), config, e[obj], _status_of(e[obj]), ptime, gflops))
    meta = {"format": "kerneltuner", "objective": obj,
            **{k: data[k] for k in ("device_name", "kernel_name", "problem_size") if k in data}}
    return rows, knobs, meta


def _t4_rows(path, data, objective, maximize):
    results = data["results"]
    if not isinstance(results, list):
        raise UserError(f"{path}: T4 'results' must be a list")
    if not isinstance(data.get("metadata") or {}, dict):
        raise UserError(f"{path}: T4 'metadata' must be a JSON object")
    unit = str((data.get("metadata") or {}).get("timeunit", "miliseconds")).lower()
    if not unit.startswith(("mili", "milli", "ms")):
        # the T4 writer of Kernel Tuner spells it "miliseconds"; anything else we don't convert
        raise UserError(f"{path}: unsupported T4 time unit {unit!r} (milliseconds expected)")
    rows, names, values = [], None, None
    for n, r in enumerate(results):
        try:
            config = r["configuration"]
            obj = objective or r["objectives"][0]
            meas = {m["name"]: m["value"] for m in r["measurements"]}
            times = r.get("times") or {}
        except (KeyError, TypeError, IndexError, AttributeError) as e:
            raise UserError(f"{path}: malformed T4 result #{n} ({e!r})") from None
        runtimes = times.get("runtimes") if isinstance(times, dict) else None
        problem = ("'configuration' must be a JSON object" if not isinstance(config, dict) else
                   f"objective name must be a string, got {obj!r}" if not isinstance(obj, str)
                   else "'times' must be a JSON object" if not isinstance(times, dict) else
                   "'runtimes' must be a list" if not isinstance(runtimes or [], list) else
                   kt_times_problem(times, ("compilation", "validation", "benchmark"))
                   or kt_times_problem(dict(enumerate(runtimes or [])), range(len(runtimes or [])))
                   or (kt_value_problem(meas[obj], obj) if obj in meas else None))
        if problem:
            raise UserError(f"{path}: T4 result #{n}: {problem}")
        if names is None:
            names, values = list(config), {k: [] for k in config}
            _direction(path, obj, maximize)
        if list(config) != names:
            raise UserError(f"{path}: T4 result #{n} has knobs {list(config)}, not {names}")
        if obj not in meas:
            raise UserError(f"{path}: T4 result #{n} has no measurement {obj!r}")
        for k in names:
            values[k].append(config[k])
        # T4 does not keep Kernel Tuner's benchmark_time; the sum of the recorded runtimes
        # stands in for it (within 0.4 % of benchmark_time on the convolution cache).
        bench = sum(finite_number(t) or 0.0 for t in (times.get("runtimes") or []))
        ptime = (finite_number(times.get("compilation")) or 0.0) + (finite_number(times.get("validation")) or 0.0) \
            + (finite_number(times.get("benchmark")) or bench)
        status = _status_of(meas[obj], r.get("invalidity"))
        key = ",".join(str(config[k]) for k in names)
        rows.append((key, config, meas[obj], status, ptime, finite_number(meas.get("GFLOP/s"))))
        last_obj = obj
    if not rows:
        return rows, [], {"format": "t4", "objective": objective or "time"}
    # T4 has no table of knob values: take the values present, in ascending order
    try:
        knobs = [Knob(k, tuple(sorted(set(v), key=_sort_key))) for k, v in values.items()]
    except TypeError as e:          # e.g. a list-valued knob, which cannot be a space value
        raise UserError(f"{path}: unsupported knob value in T4 results ({e})") from None
    meta = {"format": "t4", "objective": last_obj,
            "schema_version": data.get("schema_version")}
    return rows, knobs, meta


def _sort_key(v):
    return (0, float(v), "") if finite_number(v) is not None else (1, 0.0, str(v))


def _build(path, knobs, rows, scale, meta) -> ExhaustiveData:
    strides = Space(knobs).strides        # the full product: only its mixed-radix strides
    pos_tables = [{v: i for i, v in enumerate(k.values)} for k in knobs]
    pos = np.empty((len(rows), len(knobs)), dtype=np.int64)
    for n, (key, config, *_rest) in enumerate(rows):
        for j, (k, table) in enumerate(zip(knobs, pos_tables)):
            try:
                pos[n, j] = table[config[k.name]]
            except (KeyError, TypeError):
                raise UserError(f"{path}: configuration {key!r}: value {config.get(k.name)!r} of "
                                f"{k.name!r} is not among its tune_params") from None
    member_keys = pos @ strides
    if np.unique(member_keys).size != len(rows):
        raise UserError(f"{path}: the cache lists a configuration twice")
    space = Space(knobs, members=member_keys, name=meta.get("kernel_name", ""))
    order = space.positions_to_indices(pos)       # row -> space index
    n = len(space)
    cost = np.full(n, np.nan)
    status = np.empty(n, dtype="<U16")
    ptime = np.zeros(n)
    error = np.empty(n, dtype=object)
    gflops = np.full(n, np.nan)
    for i, (key, config, value, st, pt, gf) in zip(order, rows):
        status[i] = st.value
        ptime[i] = pt * 1e-3            # ms -> s
        if st == Status.OK:
            cost[i] = float(value) * scale
            error[i] = ""
            gflops[i] = gf if gf is not None else np.nan
        else:
            error[i] = str(value)
    flops = None
    if not meta["maximize"] and meta["objective"] == "time":
        ok = np.isfinite(gflops) & np.isfinite(cost)
        if ok.any():    # a fixed-size workload: FLOPs = GFLOP/s * 1e9 * seconds, per config
            flops = float(np.median(gflops[ok] * 1e9 * cost[ok]))
    meta["counts"] = {str(s): int((status == s).sum()) for s in np.unique(status)}
    return ExhaustiveData(space, cost, status, ptime, meta=meta, error=error, flops=flops)


# ----- exhaustive ml2tuner traces -----------------------------------------------------------
def from_trace(trace) -> ExhaustiveData:
    """`ExhaustiveData` from an exhaustive ml2tuner trace (a `Trace` or a path to one).

    Every index of the trace's space must be measured; a repeated index keeps its first record
    (`records.first_records`).
    """
    from .traces import Trace, read_trace
    if not isinstance(trace, Trace):
        trace = read_trace(trace)
    space = trace.space
    n = len(space)
    cost = np.full(n, np.nan)
    status = np.empty(n, dtype="<U16")
    ptime = np.zeros(n)
    ctime = np.zeros(n)
    split = True
    error = np.empty(n, dtype=object)
    hidden: list = [None] * n
    seen = np.zeros(n, dtype=bool)
    gflops = np.full(n, np.nan)
    any_hidden = False
    results, dups = first_records(trace.results)
    for r in results:
        i = r.index
        if not 0 <= i < n:
            raise UserError(f"{trace.path}: measurement of index {i} outside the space of "
                            f"size {n}")
        seen[i] = True
        status[i] = r.status.value
        if r.compile_time is not None and r.run_time is not None:
            ctime[i], ptime[i] = r.compile_time, r.compile_time + r.run_time
        else:
            split, ptime[i] = False, r.profile_time
        error[i] = r.error
        if r.valid:
            if finite_number(r.cost) is None:
                raise UserError(f"{trace.path}: valid measurement of index {i} has no cost")
            cost[i] = float(r.cost)
            if finite_number(r.gflops) is not None:
                gflops[i] = r.gflops
        if r.status != Status.COMPILE_ERROR:
            hidden[i] = dict(r.hidden)
        any_hidden = any_hidden or bool(r.hidden)
    if not seen.all():
        missing = np.flatnonzero(~seen)
        raise UserError(f"{trace.path}: not an exhaustive trace: {missing.size} of {n} "
                        f"configurations never measured (e.g. indices "
                        f"{', '.join(map(str, missing[:5]))})")
    h = trace.header
    flops = finite_number(h.get("flops"))
    ok = np.isfinite(gflops) & np.isfinite(cost)
    if flops is None and ok.any():
        flops = float(np.median(gflops[ok] * 1e9 * cost[ok]))
    meta = {"format": "ml2tuner-trace", "source": trace.path, "objective": "time",
            "maximize": False, "cost_unit": "s", "duplicates": dups,
            **{k: h[k] for k in ("workload", "accel", "tool", "descriptor") if k in h}}
    meta["counts"] = {str(s): int((status == s).sum()) for s in np.unique(status)}
    return ExhaustiveData(space, cost, status, ptime, meta=meta, error=error,
                          hidden=hidden if any_hidden else None, flops=flops,
                          compile_time=ctime if split else None)


def load_exhaustive(path, objective: str | None = None) -> ExhaustiveData:
    """Dispatch on the file name: `.jsonl[.gz]` is an ml2tuner trace, `.json[.gz]` a KT cache.
    objective: the KT cache field to read (a trace has only `time`)."""
    name = str(path)
    base = name[:-3] if name.endswith(".gz") else name
    if base.endswith(".jsonl"):
        if objective not in (None, "time"):
            raise UserError(f"{path}: an ml2tuner trace records only the objective 'time', "
                            f"not {objective!r}")
        return from_trace(path)
    if base.endswith(".json"):
        return load_kt_cache(path, objective=objective)
    raise UserError(f"{path}: unknown data file type (expected a Kernel Tuner cache .json[.gz] "
                    "or an ml2tuner trace .jsonl[.gz])")


__all__ = ["ExhaustiveData", "load_kt_cache", "from_trace", "load_exhaustive",
           "MINIMIZE_OBJECTIVES", "MAXIMIZE_OBJECTIVES"]
