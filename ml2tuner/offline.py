"""Offline surrogate training and evaluation across recorded traces (the datasets they read are
`data.datasets`: knob values by name, task descriptors, hidden features; NaN where missing).

V learns validity from every configuration (compile and runtime failures included); P and A
learn log cost from the valid ones.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from .data.datasets import FILL_VALUE, TraceSet, file_sha256, load_traces  # noqa: F401 (API)
from .data.descriptors import task_descriptor  # noqa: F401 (part of this module's API)
from .data.traces import iter_records
from .errors import UserError
from .surrogates.defaults import model_settings

TOP_K = 10


# ----- training ----------------------------------------------------------------------------------
# Chosen on leave-one-layer-out over the shipped traces: bigger models gained < 0.01 in tau
# while doubling the bundle size (JSON trees of depth 6 cost ~3 KB each).
V_PARAMS = model_settings("offline", "v")
P_PARAMS = model_settings("offline", "p")
A_PARAMS = model_settings("offline", "a")


def _models(v_params, p_params, a_params, seed, n_jobs):
    from .surrogates import AdvancedModel, PerformanceModel, ValidityModel
    kw = dict(random_state=seed, n_jobs=n_jobs)
    return (ValidityModel(**{**V_PARAMS, **(v_params or {}), **kw}),
            PerformanceModel(**{**P_PARAMS, **(p_params or {}), **kw}),
            AdvancedModel(**{**A_PARAMS, **(a_params or {}), **kw}))


def _calibrate_threshold(ts: TraceSet, F, v, max_valid_drop, folds, seed):
    """Operating threshold of V from out-of-fold predictions, whole traces held out per fold
    (a cross-task estimate, as the bundle will meet tasks it never saw): the highest threshold
    that drops at most `max_valid_drop` of the valid configurations."""
    from sklearn.base import clone
    groups = np.unique(ts.group)
    if groups.size < 2 or ts.valid.all() or not ts.valid.any():
        return 0.5, {"calibration": "default (fewer than 2 traces or one class)"}
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(rng.permutation(groups).tolist(),
                       np.arange(groups.size) % min(folds, groups.size)))
    f = np.array([fold_of[g] for g in ts.group.tolist()])
    oof = np.empty(len(ts.valid))
    for k in np.unique(f):
        m = clone(v).fit(F[f != k], ts.valid[f != k])
        oof[f == k] = m.predict_proba(F[f == k])[:, 1]
    t = float(np.clip(np.quantile(oof[ts.valid], max_valid_drop, method="lower"), 0.02, 0.98))
    info = {"calibration": f"out-of-fold over {int(f.max()) + 1} trace folds",
            "oof_auc": _auc(ts.valid, oof),
            "oof_invalid_caught": float(np.mean(oof[~ts.valid] < t)),
            "oof_valid_dropped": float(np.mean(oof[ts.valid] < t)),
            "max_valid_drop": max_valid_drop}
    return t, info


def train(trace_paths, out_dir, *, v_params=None, p_params=None, a_params=None,
          max_valid_drop: float = 0.02, v_threshold: float | None = None, folds: int = 4,
          seed: int = 0, n_jobs: int = 1) -> dict:
    """Train V, P, A on the traces and save a bundle in `out_dir`; return its manifest.

    `v_threshold` None calibrates V's operating threshold out of fold (see
    `_calibrate_threshold`); a number fixes it. `n_jobs` 1: the data are small, and XGBoost's
    OpenMP threads on a busy 2-core machine ran 400x slower than one thread.
    """
    from .surrogates import offset_column
    from .surrogates.bundle import save_bundle
    if not 0.0 <= max_valid_drop < 1.0:
        raise UserError("max_valid_drop must be in [0, 1)")
    from .tvm import trace_training
    if trace_training.all_tvm(trace_paths):    # open spaces: the TVM cost model's own features
        from .tvm import require_tvm
        require_tvm()
        return trace_training.train_tvm(trace_paths, out_dir, seed=seed)
    t0 = time.perf_counter()
    ts = load_traces(trace_paths)
    if not ts.valid.any():
        raise UserError("the traces hold no valid configuration: Model P cannot be trained")
    v, p, a = _models(v_params, p_params, a_params, seed, n_jobs)
    F = ts.features()
    if v_threshold is None:
        thr, calib = _calibrate_threshold(ts, F, v, max_valid_drop, folds, seed)
    else:
        thr, calib = float(v_threshold), {"calibration": "given"}
    v.threshold = thr
    v.fit(F, ts.valid)
    p.fit(F[ts.valid], np.exp(ts.log_cost[ts.valid]))
    has_hidden = ts.H.shape[1] > 0 and np.isfinite(ts.H).any()
    if has_hidden and ts.valid.sum() >= 2:
        a.set_params(offset_col=offset_column(ts.feature_names + ts.hidden_names))
        a.fit(ts.a_features(), np.exp(ts.log_cost[ts.valid]))
    else:
        a = None
    seconds = time.perf_counter() - t0
    meta = {"features": {"visible": ts.knobs, "descriptor": ts.descriptor_names,
                         "hidden": ts.hidden_names if a is not None else []},
            "v_threshold": thr,
            "traces": [{k: t[k] for k in ("path", "sha256", "workload", "accel", "space", "n",
                                          "n_valid", "descriptor")} for t in ts.traces],
            "training": {"rows": int(len(ts.valid)), "valid_rows": int(ts.valid.sum()),
                         "seconds": round(seconds, 2), "seed": seed, **calib},
            "metrics": {"train": _metrics(ts, v, p, a, thr, per_trace=False)},
            "warnings": ts.warnings}
    if a is None:
        meta["features"]["hidden"] = []
    # built beside out_dir and swapped in whole: a kill never leaves a half-replaced bundle
    from .fileio import replace_dir, staging_dir
    stage = staging_dir(out_dir)
    try:
        manifest = save_bundle(stage, v, p, a, meta)
        replace_dir(stage, out_dir)
    finally:
        if stage.exists():
            import shutil
            shutil.rmtree(stage)
    return manifest


# ----- evaluation --------------------------------------------------------------------------------
def _auc(y, s):
    from sklearn.metrics import roc_auc_score
    y = np.asarray(y, dtype=bool)
    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else None


def _rank_metrics(pred, y, group):
    """Per trace: RMSE, Kendall's tau, top-k recall (of the true k best, how many the model
    puts in its k best); averaged over traces."""
    from scipy.stats import kendalltau
    per = {}
    for g in np.unique(group):
        s = group == g
        pg, yg = pred[s], y[s]
        k = min(TOP_K, int(s.sum()))
        tau = kendalltau(pg, yg)[0] if s.sum() >= 2 else math.nan
        rec = len(set(np.argsort(pg, kind="stable")[:k]) &
                  set(np.argsort(yg, kind="stable")[:k])) / k if k else math.nan
        per[int(g)] = {"rmse": float(np.sqrt(np.mean((pg - yg) ** 2))),
                       "kendall_tau": None if math.isnan(tau) else float(tau),
                       f"top{TOP_K}_recall": float(rec)}
    return per


def _mean(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return float(np.mean(xs)) if xs else None


def _metrics(ts: TraceSet, v, p, a, threshold, per_trace=True) -> dict:
    F = ts.features()
    pv = v.predict_proba(F)[:, 1]
    drop = pv < threshold
    out = {"v": {"auc": _auc(ts.valid, pv), "threshold": float(threshold),
                 "invalid_caught": float(drop[~ts.valid].mean()) if (~ts.valid).any() else None,
                 "valid_dropped": float(drop[ts.valid].mean()) if ts.valid.any() else None,
                 "n": int(len(pv)), "n_invalid": int((~ts.valid).sum())}}
    y, gv = ts.log_cost[ts.valid], ts.group[ts.valid]
    per: dict[int, dict] = {int(g): {} for g in np.unique(ts.group)}
    for g in per:
        s = ts.group == g
        per[g]["v_auc"] = _auc(ts.valid[s], pv[s])
    for key, model, X in (("p", p, F[ts.valid] if ts.valid.any() else None),
                          ("a", a, ts.a_features() if a is not None and ts.valid.any()
                           else None)):
        if model is None or X is None or not len(y):
            out[key] = None
            continue
        pred = model.predict_log(X)
        pt = _rank_metrics(pred, y, gv)
        out[key] = {"rmse": float(np.sqrt(np.mean((pred - y) ** 2))),
                    "kendall_tau": _mean([m["kendall_tau"] for m in pt.values()]),
                    f"top{TOP_K}_recall": _mean([m[f"top{TOP_K}_recall"] for m in pt.values()]),
                    "n": int(len(y))}
        for g, m in pt.items():
            per[g].update({f"{key}_{k}": val for k, val in m.items()})
    out["rmse_ratio_a_p"] = (out["a"]["rmse"] / out["p"]["rmse"]
                             if out["a"] and out["p"] and out["p"]["rmse"] > 0 else None)
    if per_trace:
        out["per_trace"] = [{"trace": ts.traces[g]["path"], "workload": ts.traces[g]["workload"],
                             "accel": ts.traces[g]["accel"], **m} for g, m in per.items()]
    return out


def evaluate_bundle(bundle, trace_paths) -> dict:
    """Metrics of a bundle (a directory or a loaded `Bundle`) on the traces (log cost is in
    natural log of seconds; within a trace it differs from log cycles by a constant, so the
    RMSE is the same on log cycles)."""
    from .surrogates.bundle import Bundle, load_bundle
    b = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    ts = load_traces(trace_paths, knobs=b.visible, hidden=b.hidden_names,
                     require_descriptors=False)
    ts.descriptor_names = list(b.descriptor_names)     # the bundle's columns, NaN where absent
    out = _metrics(ts, b.v, b.p, b.a, b.threshold)
    out["model"] = str(b.path)
    out["traces"] = [t["path"] for t in ts.traces]
    return out


def _group_key(path, by: str) -> str:
    for _, rec in iter_records(path):
        if rec.get("record") != "header":
            break
        if by == "layer":
            return str(rec.get("workload_name") or rec.get("workload") or "")
        acc = rec.get("accel")
        return str(acc.get("name", "") if isinstance(acc, dict) else acc or "")
    raise UserError(f"{path}: no header record")


def leave_one_out(trace_paths, by: str = "layer", **train_kw) -> dict:
    """Train on all groups but one (a layer, or an accelerator), evaluate on it; every group in
    turn. Returns per-fold metrics and their means."""
    import tempfile
    if by not in ("layer", "accel"):
        raise UserError(f"leave-one-out groups by 'layer' or 'accel', not {by!r}")
    paths = [str(p) for p in trace_paths]
    for p in paths:
        if not Path(p).is_file():
            raise UserError(f"trace file not found: {p}")
    keys = [_group_key(p, by) for p in paths]
    groups = sorted(set(keys))
    if len(groups) < 2:
        raise UserError(f"leave-one-{by}-out needs traces of at least two {by}s, "
                        f"got only {groups[0]!r}")
    folds = []
    for g in groups:
        train_p = [p for p, k in zip(paths, keys) if k != g]
        test_p = [p for p, k in zip(paths, keys) if k == g]
        with tempfile.TemporaryDirectory() as tmp:
            train(train_p, tmp, **train_kw)
            m = evaluate_bundle(tmp, test_p)
        m.pop("model", None)
        folds.append({"held_out": g, **m})
    summary = {}
    for key, fields in (("v", ("auc", "invalid_caught", "valid_dropped")),
                        ("p", ("rmse", "kendall_tau", f"top{TOP_K}_recall")),
                        ("a", ("rmse", "kendall_tau", f"top{TOP_K}_recall"))):
        summary[key] = {f: _mean([fo[key][f] for fo in folds if fo[key]]) for f in fields}
    summary["rmse_ratio_a_p"] = _mean([fo["rmse_ratio_a_p"] for fo in folds])
    return {"protocol": f"leave-one-{by}-out", "mean": summary, "folds": folds}


def train_settings(manifest: dict) -> dict:
    """Training settings recorded in a bundle, to retrain alike under a protocol."""
    models = manifest.get("models", {})
    keep = ("n_estimators", "max_depth", "learning_rate", "min_child_weight", "subsample")
    kw = {f"{k}_params": {n: models[k]["params"][n] for n in keep if n in models[k]["params"]}
          for k in ("v", "p", "a") if models.get(k)}
    mvd = manifest.get("training", {}).get("max_valid_drop")
    if mvd is not None:
        kw["max_valid_drop"] = mvd
    return kw
