"""`ml2tuner replay` and `ml2tuner hpo`: tuners scored and configured in simulation mode."""
from __future__ import annotations

import json

from .common import emit, hp_from_args


def cmd_replay(a):
    from ..hpo.evaluate import check_dask_address, evaluate_setting
    if a.dask_scheduler is not None:
        check_dask_address(a.dask_scheduler)
    from ..hpo.kinds import space_kind
    kernel = space_kind(a.cache) if a.hp_file else None
    r = evaluate_setting(a.tuner, hp_from_args(a.tuner, a.hp, a.hp_file, kernel), [a.cache],
                         a.repeats, a.budget, a.seed,
                         n_jobs=a.jobs, dask_scheduler=a.dask_scheduler, n_points=a.points,
                         progress=False if a.quiet or a.json else None, objective=a.objective)
    s = r["per_space"][0]
    d = {"tuner": a.tuner, "cache": a.cache, "budget": a.budget, "repeats": a.repeats,
         "seed": a.seed, "score": r["score"], "score_std": r["score_std"],
         "score_time": r["score_time"], "score_time_std": r["score_time_std"],
         "scores": s["scores"], "best_found_mean": s["best_found_mean"],
         "optimum": s["optimum"], "best_over_optimum_mean": s["best_over_optimum_mean"],
         "n_invalid_mean": s["n_invalid_mean"], "horizon": s["horizon"],
         "sim_seconds_mean": s["sim_seconds_mean"], "sim_seconds_total": r["sim_seconds_total"],
         "wall_seconds": round(r["wall_seconds"], 3),
         "speedup": r["sim_seconds_total"] / max(r["wall_seconds"], 1e-9),
         "hparams": r["hparams"]}

    def human(d):
        print(f"{d['tuner']} on {d['cache']}: score {d['score']:.3f} ± {d['score_std']:.3f} "
              f"({d['repeats']} runs of {d['budget']} trials; budget points up to "
              f"{d['horizon']})")
        print(f"  time-axis score {d['score_time']:.3f} ± {d['score_time_std']:.3f}")
        ratio = d["best_over_optimum_mean"]
        print(f"  best found (mean) {d['best_found_mean']:.6g}, optimum {d['optimum']:.6g}"
              + (f" ({ratio:.3f}x)" if ratio is not None else "")
              + f"; invalid measured (mean) {d['n_invalid_mean']:.1f}")
        print(f"  simulated profiling {d['sim_seconds_total']:.0f} s replayed in "
              f"{d['wall_seconds']:.1f} s ({d['speedup']:.0f}x)")
    emit(d, a.json, human)


def cmd_hpo(a):
    from ..validate import check_output_dir
    from ..hpo.evaluate import check_dask_address
    from ..hpo.meta import hpo
    if a.out:
        check_output_dir(a.out, "--out")
    if a.dask_scheduler is not None:
        check_dask_address(a.dask_scheduler)
    names = [n.strip() for n in a.params.split(",") if n.strip()] if a.params else None
    kw = dict(meta=a.meta, evals=a.evals, repeats=a.repeats, budget=a.budget, seed=a.seed,
              n_jobs=a.jobs, dask_scheduler=a.dask_scheduler, out_dir=a.out, names=names,
              test_repeats=a.test_repeats, validate_repeats=a.validate_repeats, axis=a.axis,
              progress=False if a.quiet or a.json else None, objective=a.objective,
              floor=a.floor)
    if a.per_kind:
        from ..hpo.kinds import hpo_per_kind
        d = hpo_per_kind(a.tuner, a.train, a.test, **kw)
        if a.json:
            d = {**d, "kinds": {k: _without_history(v) for k, v in d["kinds"].items()}}
        emit(d, a.json, lambda d: print(format_per_kind(d)))
        return
    d = hpo(a.tuner, a.train, a.test, **kw)
    emit(_without_history(d) if a.json else d, a.json, lambda d: print(format_hpo(d)))


def _without_history(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "history"}


def format_per_kind(d: dict) -> str:
    """The human summary of `hpo --per-kind`: each kind's search, then the pooled held-out
    comparison."""
    lines = []
    for k, s in d["kinds"].items():
        lines += [f"[{k} layers] train {len(s['train'])} spaces, test {len(s['test'])} spaces",
                  format_hpo(s)]
    for label, key in (("", "pooled_vs_defaults"), (", raw mean", "pooled_vs_defaults_raw")):
        c = d[key][d["axis"]]
        lines.append(f"  pooled held-out{label}: some runs crashed; no pooled figure"
                     if c is None else format_pooled(d, c, label))
    if d.get("settings"):
        lines.append(f"  settings: {_shown(d['settings'])} (one per kind of layer; "
                     "`tune --hp-file` picks the workload's)")
    return "\n".join(lines)


def format_pooled(d: dict, c: dict, label: str = "") -> str:
    """One line of `hpo --per-kind`'s pooled held-out comparison `c` (from its summary `d`)."""
    return (f"  pooled held-out ({d['pooled_spaces']} spaces x {d['pooled_repeats']} seeds), one "
            f"setting per kind{label} vs defaults, {d['axis']} axis: {c['new']:.4f} vs "
            f"{c['old']:.4f}, {c['pct']:+.1f} % (95 % CI {c['pct_ci'][0]:+.1f} .. "
            f"{c['pct_ci'][1]:+.1f} %); gap closed {c['gap']:+.1f} % (CI {c['gap_ci'][0]:+.1f} "
            f".. {c['gap_ci'][1]:+.1f} %)")


def _score(v) -> str:
    return "crashed" if v is None else f"{v:.4f}"


def format_hpo(d: dict) -> str:
    """The human summary of an `hpo` result."""
    ax = d["axis"]
    v = d["validate"]
    lines = [
        f"{d['tuner']} HPO with {d['meta']} ({ax} axis): {d['search_runs']} runs over "
        f"{d['n_settings']} settings on {len(d['train'])} training spaces, "
        f"{len(d['crashes'])} crashed runs, {d['wall_seconds']} s",
        f"  incumbent: {json.dumps(d['incumbent_hparams'])}",
        f"  re-evaluation ({d['validate_repeats']} fresh seeds per training space): incumbent "
        f"{_score(v['incumbent'][ax])}, defaults {_score(v['defaults'][ax])}",
        f"  {d['verdict']}"]
    if d.get("aggregate"):
        lines.append(f"  score of a setting: {d['aggregate']}")
    rows = [("final", "test_final_vs_defaults"), ("incumbent", "test_incumbent_vs_defaults")]
    if d.get("floor") is not None and "test_final_vs_defaults_raw" in d:
        rows.append(("final, raw mean", "test_final_vs_defaults_raw"))
    for label, key in rows:
        for axis in ("time", "samples"):
            c = d[key][axis]
            if c is None:
                lines.append(f"  held-out, {label} vs defaults ({axis}): crashed")
                continue
            gap = (f"; gap closed {c['gap']:+.1f} % (CI {c['gap_ci'][0]:+.1f} .. "
                   f"{c['gap_ci'][1]:+.1f} %)" if "gap" in c else "")
            lines.append(f"  held-out ({len(d['test'])} spaces x {d['test_repeats']} seeds), "
                         f"{label} vs defaults, {axis} axis: {c['new']:.4f} vs {c['old']:.4f}"
                         f", {c['pct']:+.1f} % (95 % CI {c['pct_ci'][0]:+.1f} .. "
                         f"{c['pct_ci'][1]:+.1f} %){gap}")
    for c in d["crashes"][:5]:
        lines.append(f"  crash on {c['space']}: {c['error']} with {json.dumps(c['hparams'])}")
    if d.get("out"):
        o = {k: _shown(v) for k, v in d["out"].items()}
        lines.append(f"  settings: {o['settings']} (use with --hp-file); results: "
                     f"{o['csv']}, {o['json']}, {o['png']}")
    return "\n".join(lines)


def _shown(path) -> str:
    """A path relative to the working directory when it lies inside it (summaries that are
    saved as benchmark results stay the same from one checkout to another)."""
    import os
    p = os.path.abspath(str(path))
    rel = os.path.relpath(p)
    return p if rel.startswith("..") else rel


def register(sub) -> None:
    from .args import positive_int_arg, seed_arg
    from ..tuners import TUNERS
    from ..hpo.ac import STRATEGIES
    from ..hpo.objective import SCORE_FLOOR

    def common(p, repeats):
        p.add_argument("--tuner", default="ml2tuner", choices=sorted(TUNERS))
        p.add_argument("--budget", type=positive_int_arg, default=200,
                       help="trials per run (default 200)")
        p.add_argument("--repeats", type=positive_int_arg, default=repeats,
                       help=f"runs per space (default {repeats})")
        p.add_argument("--seed", type=seed_arg, default=0)
        p.add_argument("--jobs", type=int, default=1, help="parallel runs via joblib (-1: all "
                       "cores)")
        p.add_argument("--dask-scheduler", metavar="ADDRESS",
                       help="run on the Dask distributed cluster at ADDRESS (e.g. "
                            "tcp://host:8786); data paths must be readable by the workers")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--objective", metavar="NAME", help="the Kernel Tuner cache field to "
                       "optimise (default: the cache's objective, else time)")
        p.add_argument("--json", action="store_true")

    p = sub.add_parser("replay", help="score a tuner in simulation mode on an exhaustive cache "
                                      "or trace")
    p.add_argument("--cache", required=True, help="Kernel Tuner cache (.json[.gz], native or T4) "
                   "or exhaustive ml2tuner trace (.jsonl[.gz])")
    common(p, 10)
    p.add_argument("--hp", nargs="*", metavar="NAME=VALUE", help="tuner hyperparameters")
    p.add_argument("--hp-file", metavar="FILE", help="settings file written by `ml2tuner hpo` "
                   "(--hp overrides it)")
    p.add_argument("--points", type=positive_int_arg, default=20, help="budget points of the score")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("hpo", help="tune a tuner's hyperparameters in simulation mode")
    p.add_argument("--train", nargs="+", required=True, metavar="FILE", help="training spaces")
    p.add_argument("--test", nargs="+", required=True, metavar="FILE", help="held-out spaces")
    p.add_argument("--meta", choices=STRATEGIES, default="smac",
                   help="meta-strategy (default smac: SMAC3 algorithm configuration)")
    p.add_argument("--evals", type=positive_int_arg, required=True, help="search budget, in full "
                   "evaluations of one setting (training spaces x repeats runs each)")
    common(p, 3)
    p.add_argument("--axis", choices=("time", "samples", "both"), default="time",
                   help="score to optimise: simulated time (default), samples, or their mean")
    p.add_argument("--floor", type=_floor_arg(), default=SCORE_FLOOR,
                   help="raise each run's score to this before averaging runs (default "
                        f"{SCORE_FLOOR:g}: one run far worse than random search, where P is "
                        "unbounded below, cannot decide a comparison; 'none': the raw mean)")
    p.add_argument("--validate-repeats", type=positive_int_arg, default=20, help="fresh seeds per training "
                   "space on which the incumbent must beat the defaults (default 20)")
    p.add_argument("--test-repeats", type=positive_int_arg, default=None,
                   help="seeds per held-out space (default: --validate-repeats)")
    p.add_argument("--params", help="comma-separated hyperparameters to search (default: those "
                   "the tuner's table marks tunable and that act on some training space: "
                   "with a compiler or without" + _tunable_note() + ")")
    p.add_argument("--out", default="hpo-results", help="folder for settings.json, hpo.csv, "
                   "hpo.json, hpo.png (default hpo-results)")
    p.add_argument("--per-kind", action="store_true",
                   help="one search per kind of layer (1x1 and KxK convolutions; ml2tuner "
                        "traces of accelerator layers), each with --evals full evaluations on "
                        "its own training layers, held-out runs pooled; results under "
                        "OUT/1x1 and OUT/KxK, and OUT/settings.json holds both settings")
    p.set_defaults(func=cmd_hpo)


def _floor(text: str):
    return None if text.strip().lower() == "none" else float(text)


def _floor_arg():
    import math

    from .args import _arg_type
    return _arg_type(_floor, lambda v: v is None or (math.isfinite(v) and v < 1),
                     "a number below 1 or 'none'")


def _tunable_note() -> str:
    from ..tuners import TUNERS
    names = [n for n, h in TUNERS["ml2tuner"].HYPERPARAMETERS.items() if h.tunable]
    return "; for ml2tuner: " + ",".join(names)


__all__ = ["register", "cmd_replay", "cmd_hpo", "format_hpo", "format_per_kind",
           "format_pooled"]
