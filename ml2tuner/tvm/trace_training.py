"""`ml2tuner train` on traces recorded by `tvm-tune` / `TraceCallback`: a bundle ML2CostModel reads.

A TVM trace (header `backend: tvm-meta-schedule`, an open space) has no enumerable knobs, so the
generic trainer (offline.train, which takes its columns from the space's knobs) cannot read it.
Here each record becomes a row of the cost model's own training data: the visible vector is
rebuilt from the record's `config` (the decisions in trace order and `sketch`: exactly what
features.visible_vector computes from the candidate), the hidden vector from its `hidden` dict
(recorded by default), the task key from `task_hash`. The rows are fitted by `ML2Models` and
saved with `ML2Models.save`, so `ML2CostModel(model_dir=...)` and `tvm-tune --load-model`
warm-start from the bundle, keeping its rows.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from ..errors import UserError

BACKEND = "tvm-meta-schedule"
_KEY_RE = re.compile(r"^d(\d+)\.")


def _header(path) -> dict:
    from ..traces import iter_records
    for _, rec in iter_records(path):
        return rec
    return {}


def is_tvm_trace(path) -> bool:
    """Whether the header says TVM; a malformed header is not TVM's (the general reader then
    names what is wrong with it)."""
    h = _header(path)
    space = h.get("space") if isinstance(h, dict) else None
    name = space.get("name", "") if isinstance(space, dict) else ""
    return isinstance(h, dict) and (h.get("backend") == BACKEND or str(name).startswith("tvm:"))


def all_tvm(paths) -> bool:
    """True if every trace is a TVM trace; UserError if TVM and other traces are mixed."""
    flags = [is_tvm_trace(p) for p in paths]
    if any(flags) and not all(flags):
        raise UserError("TVM MetaSchedule traces and accelerator traces cannot train one bundle "
                        "(their features differ); train them separately")
    return bool(flags) and all(flags)


def visible_from_config(config: dict, width: int | None = None) -> np.ndarray:
    """features.visible_vector of a candidate, rebuilt from its trace record's config (keys
    `d{i}.{kind}[.{j}]` in trace order, and `sketch`)."""
    from .features import VISIBLE_WIDTH, vector_from_items
    items: dict = {}
    for k, v in config.items():
        m = _KEY_RE.match(k)
        if m:
            i = int(m.group(1))
            kind = k.split(".")[1]
            items.setdefault(i, (kind, []))[1].append(float(v))
    return vector_from_items([items[i] for i in sorted(items)],
                             float(config.get("sketch", np.nan)), width or VISIBLE_WIDTH)


def train_tvm(trace_paths, out_dir, *, seed: int = 0) -> dict:
    """Fit ML2CostModel's V, P, A on TVM traces and save the bundle; return its manifest."""
    from ..traces import iter_records
    from .cost_model import ML2Models
    from .features import HIDDEN_WIDTH, VISIBLE_WIDTH, hidden_names

    t0 = time.perf_counter()
    hnames = hidden_names()
    core = ML2Models(seed=seed, warmup=2)
    info, n_hidden = [], 0
    rows = []             # (task key, visible, hidden, valid, cost), in measurement order
    for path in trace_paths:
        keys = set()
        n = nv = 0
        for _, rec in iter_records(path):
            if rec.get("record") != "measure":
                continue
            key = rec.get("task_hash") or f"{Path(path).name}:{rec.get('task', '')}"
            ok = rec.get("status") == "ok" and rec.get("cost") is not None
            hid = rec.get("hidden") or {}
            n_hidden += bool(hid)
            rows.append((key, visible_from_config(rec.get("config") or {}, VISIBLE_WIDTH),
                         [float(hid.get(h, np.nan)) for h in hnames] if hid
                         else np.full(HIDDEN_WIDTH, np.nan),
                         ok, float(rec["cost"]) if ok else np.nan))
            keys.add(key)
            n += 1
            nv += ok
        info.append({"path": str(path), "n": n, "n_valid": nv, "tasks": len(keys)})
    i = 0
    while i < len(rows):              # runs of one task, so the rows keep the trace's order
        j = i
        while j < len(rows) and rows[j][0] == rows[i][0]:
            j += 1
        chunk = rows[i:j]
        core.add(rows[i][0], np.array([r[1] for r in chunk]), np.array([r[2] for r in chunk]),
                 [r[3] for r in chunk], [r[4] for r in chunk])
        i = j
    if core.n_valid < 2:
        raise UserError(f"the traces hold {core.n_valid} valid measurement(s); Model P needs "
                        "at least 2")
    core.fit()
    seconds = time.perf_counter() - t0
    n_rows = int(len(core.valid))
    pv = core.p_valid(core.vis)
    extra = {"traces": info,
             "training": {"rows": n_rows, "valid_rows": core.n_valid,
                          "seconds": round(seconds, 2), "seed": seed,
                          "rows_with_hidden": n_hidden},
             "metrics": {"train": {"v_accuracy": float(np.mean((pv >= 0.5) == core.valid))}}}
    if n_hidden == 0:
        extra["warnings"] = ["the traces hold no hidden features: Model A is trained on NaNs "
                             "(record them with TraceCallback(record_hidden=True))"]
    manifest = core.save(out_dir, extra_meta=extra)
    return manifest

