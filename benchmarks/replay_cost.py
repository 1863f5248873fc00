"""Replay cost: the wall time of replayed 200-trial ML2Tuner runs against the simulated
profiling time they stand for ("Tuning the Tuner" reports two orders of magnitude; target
>= 1000x end-to-end), and what the surrogate-refit settings that buy the speed cost in quality.

Per variant of the refit settings, over every space and --seeds seeds: end-to-end ratio
(simulated profiling seconds / wall seconds of the whole replayed runs, the tuner's decisions
included), the same with process CPU time (robust to a shared, loaded machine), and the mean
score on the sample and time axes (`hpo.score`). Variants:
- defaults: the table's defaults (refit from scratch every third round, with a compiler or
  without);
- scratch: refit from scratch every round, the reference for quality;
- refit2: refit from scratch every second round;
- warm20: every round, continuing boosting with 20 new rounds (warm_rounds=20);
- rounds2/3: the defaults with two thirds of the boosting rounds of Models V, P and A.
The gate (exit 1 when below --target) is the defaults' end-to-end ratio.
    python benchmarks/replay_cost.py [--trials 200] [--seeds 3] [--target 1000] [--quick]
Writes benchmarks/results/replay_cost.{txt,json}.
"""
import argparse
import os
import sys
import time

import numpy as np

from ml2tuner.hpo.evaluate import load_space, run_one, run_seed, time_points
from ml2tuner.hpo.score import expected_best_random_time

from _data import GPU, ROOT, SHARED, write_result

# refit_every applies to spaces with a compiler (the VTA traces), refit_every_no_compiler to the
# GPU caches: a variant sets both
VARIANTS = {"defaults": {},
            "scratch": {"warm_rounds": 0, "refit_every": 1, "refit_every_no_compiler": 1},
            "refit2": {"refit_every": 2, "refit_every_no_compiler": 2},
            "warm20": {"warm_rounds": 20, "refit_every": 1, "refit_every_no_compiler": 1},
            "rounds2/3": {"v_n_estimators": 40, "p_n_estimators": 100, "a_n_estimators": 100}}


def spaces():
    out = sorted((ROOT / "traces" / "vta-zcu102").glob("resnet18.C*.jsonl.gz"),
                 key=lambda p: int(p.name.split(".")[1][1:]))
    out += [SHARED / f"{g}.json.gz" for g in GPU if (SHARED / f"{g}.json.gz").exists()]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--target", type=float, default=1000.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--quick", action="store_true", help="1 seed, 4 spaces")
    a = ap.parse_args()
    paths = spaces()
    if a.quick:
        a.seeds, paths = 1, paths[::4]
    for p in paths:                 # loading and the score's random-search baseline are done
        d = load_space(str(p))      # once per space, outside the timing
        expected_best_random_time(d, time_points(d, a.trials))
    lines, rows = [], {}

    def out(s=""):
        print(s, flush=True)
        lines.append(s)
    out(f"{len(paths)} spaces x {a.seeds} seeds x {a.trials} trials per variant; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start (wall time counts "
        f"other jobs, CPU time does not)")
    out(f"{'variant':12s} {'settings':36s} {'wall s':>7s} {'cpu s':>7s} {'simulated s':>11s} "
        f"{'end-to-end':>10s} {'cpu ratio':>9s} {'score':>6s} {'time score':>10s}")
    for name in a.variants.split(","):
        hp = VARIANTS[name]
        sim = wall = 0.0
        sc, st = [], []
        c0 = time.process_time()
        for si, p in enumerate(paths):
            for r in range(a.seeds):
                res = run_one(str(p), "ml2tuner", hp, run_seed(a.seed, si, r), a.trials)
                sim += res["sim_seconds"]
                wall += res["wall_seconds"]
                sc.append(res["score"])
                st.append(res["score_time"])
        cpu = time.process_time() - c0
        rows[name] = {"hparams": hp, "simulated_seconds": sim, "wall_seconds": wall,
                      "cpu_seconds": cpu, "end_to_end_ratio": sim / wall,
                      "cpu_ratio": sim / cpu, "score": float(np.mean(sc)),
                      "score_time": float(np.mean(st)), "scores": sc, "scores_time": st}
        r = rows[name]
        out(f"{name:12s} {str(hp):36s} {wall:7.1f} {cpu:7.1f} {sim:11.0f} "
            f"{r['end_to_end_ratio']:9.0f}x {r['cpu_ratio']:8.0f}x {r['score']:6.3f} "
            f"{r['score_time']:10.3f}")
    ok = "defaults" in rows and rows["defaults"]["end_to_end_ratio"] >= a.target
    if "scratch" in rows:            # quality cost: paired per run (same seeds), vs scratch
        for name, r in rows.items():
            if name == "scratch":
                continue
            for ax in ("scores", "scores_time"):
                d = np.array(r[ax]) - np.array(rows["scratch"][ax])
                se = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else 0.0
                r[f"{ax}_vs_scratch"] = {"mean": float(d.mean()), "se": float(se)}
            out(f"{name} vs scratch, paired per run: score "
                f"{r['scores_vs_scratch']['mean']:+.4f} ± {r['scores_vs_scratch']['se']:.4f}, "
                f"time score {r['scores_time_vs_scratch']['mean']:+.4f} ± "
                f"{r['scores_time_vs_scratch']['se']:.4f} (± one standard error)")
    out(f"target {a.target:.0f}x end-to-end with the defaults: {'met' if ok else 'NOT met'}")
    write_result("replay_cost" + ("_quick" if a.quick else ""), "\n".join(lines),
                 {"trials": a.trials, "seeds": a.seeds, "spaces": [p.name for p in paths],
                  "target": a.target, "meets_target": ok, "variants": rows})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
