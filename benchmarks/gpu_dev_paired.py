"""Paired comparison of ML2Tuner settings on the development GPU caches (convolution_milo__A100,
dedispersion_milo__A100, legacy_pnpoly__RTX_3090), the check a method change for spaces without
a compiler passes before the full `gpu_caches.py` run.

Every variant runs on the same seeds (repeat r on cache i: `run_seed(seed, i, r)`; the default
seed 1000 keeps them apart from gpu_caches.py's, seed 0), one replay per budget (50, 100 and
200): with `init_share_no_compiler` above 0, ML2Tuner's random initial design scales with its
budget, so a shorter run is not a prefix of a longer one. Reported per variant: mean
optimum/best per cache and over the caches, and the paired difference to the first variant
with one standard error.
No target: it informs a choice; exit 0.

    python benchmarks/gpu_dev_paired.py [--repeats 60] [--seed 1000]
                                        [--variants '{"defaults": {}, "NAME": {HP: VALUE}}']
                                        [--held-out] [--name NAME]
`--held-out`: the same on the held-out caches (convolution_milo__A4000, legacy_convolution__RTX_3090,
legacy_gemm__RTX_3090), a larger paired confirmation of a choice fixed on the development caches.
Writes benchmarks/results/gpu_dev_paired.{txt,json} (gpu_held_out_paired with --held-out), or
NAME.{txt,json}.
"""
import argparse
import json
import sys
import time

import numpy as np

from ml2tuner.errors import UserError
from ml2tuner.hpo.evaluate import load_space, run_seed
from ml2tuner.replay import ReplayMeasurer
from ml2tuner.tuners import make_tuner

from _data import GPU_DEV, GPU_HELD_OUT, SHARED, provenance, write_result

BUDGETS = (50, 100, 200)
VARIANTS = {"defaults": {}, "refit_every_round": {"refit_every_no_compiler": 1},
            "source_bandit": {"source_bandit": True, "refit_every_no_compiler": 1}}


def opt_over_best(path, hp, seed) -> list[float]:
    d = load_space(path)
    worst = float(d.valid_costs_sorted[-1])
    out = []
    for budget in BUDGETS:
        res = make_tuner("ml2tuner", d.space, seed=seed, **hp).tune(budget, ReplayMeasurer(d))
        idx = np.array([r.index for r in res.history], dtype=np.int64)
        best = float(np.min(np.where(d.valid[idx], d.cost[idx], np.inf), initial=np.inf))
        out.append(d.optimum / (best if np.isfinite(best) else worst))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--variants", default=json.dumps(VARIANTS))
    ap.add_argument("--held-out", action="store_true",
                    help="the held-out caches instead: a larger paired confirmation of a "
                         "choice already fixed on the development ones (never to tune on)")
    ap.add_argument("--name", help="result file name (default gpu_dev_paired, or "
                                    "gpu_held_out_paired with --held-out)")
    a = ap.parse_args(argv)
    try:
        variants = json.loads(a.variants)
        if not (isinstance(variants, dict) and variants
                and all(isinstance(v, dict) for v in variants.values())):
            raise ValueError("not an object of objects")
        if a.repeats < 2:
            raise ValueError("--repeats must be >= 2")
    except ValueError as e:
        print(f"--variants / --repeats: {e}", file=sys.stderr)
        return 2
    caches = GPU_HELD_OUT if a.held_out else GPU_DEV
    name = a.name or ("gpu_held_out_paired" if a.held_out else "gpu_dev_paired")
    paths = [SHARED / f"{g}.json.gz" for g in caches]
    if not all(p.exists() for p in paths):
        print(f"GPU caches not found under {SHARED}", file=sys.stderr)
        return 2
    prov = provenance(argv)
    t0 = time.perf_counter()
    res = {}
    try:
        for variant, hp in variants.items():
            res[variant] = np.array([[opt_over_best(str(p), hp, run_seed(a.seed, ci, r))
                                   for r in range(a.repeats)] for ci, p in enumerate(paths)])
    except UserError as e:
        print(e, file=sys.stderr)
        return 2
    wall = time.perf_counter() - t0
    lines = [f"ML2Tuner variants on the {'held-out' if a.held_out else 'development'} GPU "
             f"caches ({', '.join(caches)}), {a.repeats} paired runs per "
             f"cache (seed {a.seed}); mean optimum/best at budgets "
             f"{'/'.join(map(str, BUDGETS))}; d: paired difference to '{list(variants)[0]}' "
             "(mean over caches) +- one standard error"]
    base = res[list(variants)[0]]
    rows = []
    for variant, arr in res.items():
        diff = (arr - base).mean(axis=0)                  # per repeat, over caches
        se = diff.std(axis=0, ddof=1) / np.sqrt(a.repeats)
        mean = arr.mean(axis=(0, 1))
        per = {g: arr[ci].mean(axis=0).tolist() for ci, g in enumerate(caches)}
        rows.append({"variant": variant, "settings": variants[variant], "mean": mean.tolist(),
                     "diff": diff.mean(axis=0).tolist(), "diff_se": se.tolist(),
                     "per_cache": per})
        lines.append(f"{variant:20s} {json.dumps(variants[variant])}")
        lines.append("    mean " + " / ".join(f"{v:.3f}" for v in mean) + "   d " +
                     " / ".join(f"{m:+.3f} +- {s:.3f}" for m, s in zip(diff.mean(axis=0), se)))
        lines.append("    " + "; ".join(f"{g} " + " / ".join(f"{v:.3f}" for v in per[g])
                                        for g in caches))
    lines.append(f"wall time {wall:.0f} s")
    print("\n".join(lines))
    write_result(name, "\n".join(lines),
                 {"repeats": a.repeats, "seed": a.seed, "budgets": list(BUDGETS),
                  "caches": caches, "rows": rows, "wall_seconds": wall}, prov)
    return 0


if __name__ == "__main__":
    sys.exit(main())
