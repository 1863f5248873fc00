"""Datasets for offline training: many traces streamed into compact arrays (`TraceSet`).

One dataset spans tasks: every row is a measured configuration, its features are

* the knob values **by knob name** (the union of the traces' knob names; a knob that a trace's
  space lacks gets `FILL_VALUE` (NaN, XGBoost's "missing"; see `data.records`); a non-numeric
  knob is encoded by its value's position in its own space, as `Space.features` does), then
* the task descriptors of the trace header (`descriptor`: layer shape, accelerator parameters),
  one column per name (NaN where a trace lacks one),
* for Model A only, the hidden compilation features recorded with each valid measurement.

A configuration measured twice counts by its first record (`data.records`). Traces are streamed
record by record (`iter_records`) into growing float32 arrays: no list of parsed records or
second copy is ever held (`iter_records` itself holds one file's text lines while it parses that
file).
"""
from __future__ import annotations

import array
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from .validation import header_problem, measure_record_problem
from .records import FILL_VALUE, feature_number
from .traces import READABLE_SCHEMAS, iter_records


class _Grow:
    """A 2-D float32 array that grows by doubling, in rows and (NaN-padded) columns."""

    def __init__(self, ncol: int):
        self.a = np.full((1024, max(ncol, 0)), np.nan, dtype=np.float32)
        self.n = 0

    def ensure_cols(self, ncol: int):
        if ncol > self.a.shape[1]:
            pad = np.full((self.a.shape[0], ncol - self.a.shape[1]), np.nan, dtype=np.float32)
            self.a = np.hstack([self.a, pad])

    def next_row(self) -> np.ndarray:
        if self.n == self.a.shape[0]:
            more = np.full_like(self.a, np.nan)
            self.a = np.vstack([self.a, more])
        self.n += 1
        return self.a[self.n - 1]

    def array(self) -> np.ndarray:
        return self.a[:self.n].copy()      # trimmed; the doubling buffer is dropped after


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class TraceSet:
    """Compact arrays for several traces, one row per distinct measured configuration."""
    knobs: list[str]                      # visible feature names, the columns of X
    descriptor_names: list[str]
    hidden_names: list[str]
    X: np.ndarray                         # (n, len(knobs)) float32, NaN = knob absent
    valid: np.ndarray                     # (n,) bool
    log_cost: np.ndarray                  # (n,) float64, NaN where not valid
    group: np.ndarray                     # (n,) int32: which trace
    H: np.ndarray                         # (n_valid, len(hidden_names)) float32, valid rows only
    traces: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def descriptor_matrix(self, rows=None) -> np.ndarray:
        """(n, len(descriptor_names)) per-row task descriptors (broadcast from the traces)."""
        D = np.array([[feature_number(t["descriptor"].get(k)) for k in self.descriptor_names]
                      for t in self.traces], dtype=np.float32).reshape(len(self.traces), -1)
        g = self.group if rows is None else self.group[rows]
        return D[g]

    def features(self, rows=None) -> np.ndarray:
        """Visible + descriptor features: the inputs of Models V and P."""
        X = self.X if rows is None else self.X[rows]
        return np.hstack([X, self.descriptor_matrix(rows)])

    def a_features(self) -> np.ndarray:
        """Visible + descriptor + hidden features of the valid rows: the inputs of Model A."""
        return np.hstack([self.features(self.valid), self.H])

    @property
    def feature_names(self) -> list[str]:
        return self.knobs + self.descriptor_names

    def subset(self, groups) -> "TraceSet":
        """The rows of some traces (by position in `traces`), renumbered; no file is re-read."""
        keep = sorted(set(int(g) for g in groups))
        rows = np.isin(self.group, keep)
        renum = np.full(len(self.traces), -1, dtype=np.int32)
        renum[keep] = np.arange(len(keep), dtype=np.int32)
        return TraceSet(self.knobs, list(self.descriptor_names), self.hidden_names, self.X[rows],
                        self.valid[rows], self.log_cost[rows], renum[self.group[rows]],
                        self.H[rows[self.valid]], [self.traces[g] for g in keep],
                        list(self.warnings))


def load_traces(paths, knobs=None, hidden=None, require_descriptors=True) -> TraceSet:
    """Stream the traces into a `TraceSet`. `knobs` / `hidden` fix the columns (a bundle's
    names, for evaluation); otherwise they are the union over the traces, in first-seen order.

    Traces of different spaces need task descriptors (else one model would mix tasks it
    cannot tell apart): that is a `UserError` when `require_descriptors`.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise UserError("no traces given")
    for p in paths:
        if not p.is_file():
            raise UserError(f"trace file not found: {p}")
    fixed_knobs = knobs is not None
    knobs = list(knobs) if fixed_knobs else []
    fixed_hidden = hidden is not None
    hidden = list(hidden) if fixed_hidden else []
    kpos = {k: j for j, k in enumerate(knobs)}
    hpos = {k: j for j, k in enumerate(hidden)}
    Xg, Hg = _Grow(len(knobs)), _Grow(len(hidden))
    # per-row labels in typed arrays: 1 + 8 + 4 bytes a row, not a Python object each
    valid, log_cost, group = array.array("b"), array.array("d"), array.array("i")
    traces, warnings = [], []
    for g, path in enumerate(paths):
        header, cols, codes, seen, n_rows, n_valid = None, None, None, None, 0, 0
        for n, rec in iter_records(path):
            kind = rec["record"]
            if kind == "header":
                if rec.get("schema") not in READABLE_SCHEMAS or "space" not in rec:
                    raise UserError(f"{path}:{n}: not an ml2tuner trace header of schema "
                                    f"{' or '.join(map(str, READABLE_SCHEMAS))}")
                problem = header_problem(rec)
                if problem:
                    raise UserError(f"{path}:{n}: {problem}")
                header = rec
                knob_values = rec["space"].get("knobs") or {}
                for k in knob_values:
                    if k not in kpos and not fixed_knobs:
                        kpos[k] = len(knobs)
                        knobs.append(k)
                Xg.ensure_cols(len(knobs))
                cols = [(k, kpos[k]) for k in knob_values if k in kpos]
                # non-numeric knob values are encoded by position, like Space.features
                codes = {k: None if all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                        for v in vals) else {v: i for i, v in enumerate(vals)}
                         for k, vals in knob_values.items()}
                seen = set()
                continue
            if kind == "truncated":
                warnings.append(f"{path}:{n}: truncated last line skipped (interrupted write)")
                continue
            if header is None:
                raise UserError(f"{path}:{n}: a record before the header")
            if kind != "measure":
                continue
            problem = measure_record_problem(rec)
            if problem:
                raise UserError(f"{path}:{n}: malformed measurement: {problem}")
            idx, cfg, status = rec["index"], rec["config"], rec["status"]
            if idx in seen:          # a repeat: the first record counts (data.records)
                continue
            seen.add(idx)
            ok = status == "ok"
            cost = rec.get("cost")
            if ok and not (isinstance(cost, (int, float)) and cost > 0 and math.isfinite(cost)):
                raise UserError(f"{path}:{n}: valid measurement without a positive cost")
            row = Xg.next_row()
            for k, j in cols:
                v = cfg.get(k)
                c = codes[k]
                row[j] = (feature_number(v) if c is None else c.get(v, FILL_VALUE)) if v is not None \
                    else FILL_VALUE
            valid.append(ok)
            log_cost.append(math.log(cost) if ok else math.nan)
            group.append(g)
            n_rows += 1
            if ok:
                n_valid += 1
                h = rec.get("hidden") or {}
                if not fixed_hidden:
                    new = [k for k in h if k not in hpos]
                    for k in sorted(new):
                        hpos[k] = len(hidden)
                        hidden.append(k)
                    if new:
                        Hg.ensure_cols(len(hidden))
                hrow = Hg.next_row()
                for k, v in h.items():
                    j = hpos.get(k)
                    if j is not None:
                        hrow[j] = feature_number(v)
        if header is None:
            raise UserError(f"{path}: empty trace (no header)")
        desc = header.get("descriptor") or {}
        if not isinstance(desc, dict) or any(math.isnan(feature_number(v)) for v in desc.values()):
            raise UserError(f"{path}: header 'descriptor' must map names to numbers")
        accel = header.get("accel")
        traces.append({"path": str(path), "sha256": file_sha256(path),
                       "workload": header.get("workload_name") or header.get("workload") or "",
                       "accel": accel.get("name", "") if isinstance(accel, dict) else str(accel
                                                                                         or ""),
                       "space": header["space"].get("name", ""),
                       "space_signature": _space_key(header["space"]),
                       "descriptor": desc, "n": n_rows, "n_valid": n_valid})
    spaces = {t["space_signature"] for t in traces}
    if require_descriptors and len(spaces) > 1:
        bare = [t["path"] for t in traces if not t["descriptor"]]
        if bare:
            raise UserError(f"traces of {len(spaces)} different spaces need task descriptors "
                            f"(header 'descriptor') to be trained together; {bare[0]} has none")
    dnames = []
    for t in traces:
        dnames += [k for k in t["descriptor"] if k not in dnames]
    Xg.ensure_cols(len(knobs))
    Hg.ensure_cols(len(hidden))
    return TraceSet(knobs=knobs, descriptor_names=dnames, hidden_names=hidden, X=Xg.array(),
                    valid=np.frombuffer(valid, dtype=np.int8).astype(bool),
                    log_cost=np.frombuffer(log_cost, dtype=np.float64).copy(),
                    group=np.frombuffer(group, dtype=np.int32).copy(), H=Hg.array(),
                    traces=traces, warnings=warnings)


def _space_key(space: dict) -> str:
    return hashlib.sha256(json.dumps(space, sort_keys=True).encode()).hexdigest()[:16]


__all__ = ["TraceSet", "load_traces", "file_sha256", "FILL_VALUE"]
