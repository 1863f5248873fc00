"""ML2Tuner against its peers on the real GPU caches (../shared/data/kerneltuner), side by side.

Peers: ml2tuner, the project's xgb (AutoTVM-like) and random search, replayed by `ReplayMeasurer`;
Kernel Tuner's own strategies (`kt:NAME`) through `kernel_tuner.tune_kernel(...,
simulation_mode=True, cache=...)` with `max_fevals` = budget. Every run is reduced to the
configurations it evaluated, in order, and scored by one code path, so the budget unit is the
same for all: unique configurations evaluated, failed ones included (as Kernel Tuner counts
them). Each budget is a separate run (some strategies plan by their budget).

Per (cache, budget, peer), over the repeats: optimum/best (best = best found, the worst valid
cost when nothing valid was found; 1 = optimum), the score P on the sample axis (budget points up
to min(budget, cutoff)) and on the simulated-time axis (up to min(budget samples of random
search, cutoff time)), invalid configurations evaluated, configurations evaluated.
Caches ml2tuner's method was developed on and held-out caches are also reported apart, and so is
the unseen set: caches shipped with this project (benchmarks/data/kerneltuner_heldout/, see its
SOURCES.md) on which no ML2Tuner change is ever tried: only this benchmark runs ML2Tuner there,
once per method change (the shared held-out caches confirm changes made on the development ones).
Beside each check, ml2tuner's optimum/best minus xgb's and random's, paired by repeat seed,
with one standard error over the repeats (the noise the check's margins sit in).
Exits 1 when ml2tuner's mean optimum/best is not >= every peer's at budgets 50, 100 and 200 in
any of the groups: all shared caches, the caches it was not developed on (the shared held-out
caches and the unseen set together), and the development, held-out and unseen groups one by
one. On a group of one to three caches near the optimum (opt/best about 0.98 and above at
budget 200) the best two tuners can differ by less than one standard error of 50 repeats (see
the paired differences printed): such a miss still counts.

Kernel Tuner's strategies do not change with this project's code and are seeded (the seed of
repeat r on cache i is a function of (seed, i, r) only), so `--reuse-kt FILE` (repeatable) takes
their cells from earlier results of this script (same Kernel Tuner version and seed; the table
names the files and their commits) and runs only the repeats those files lack; a cell's mean is
the repeat-weighted mean of the files' means and the new runs. A rerun after a change to ml2tuner
then costs a fraction of the time. `--first-repeat R --peers kt --name NAME` runs Kernel Tuner's
repeats R.. alone (no target check), to add repeats to a result later.

    python benchmarks/gpu_caches.py [--repeats 10] [--jobs 1] [--quick] [--reuse-kt FILE ...]
                                    [--first-repeat 0] [--peers all|kt|ours] [--name gpu_caches]
                                    [--caches NAME,...]
                                    [--ml2-hp NAME=VALUE ...]
`--ml2-hp` runs ml2tuner with other settings than its defaults (a control, e.g. a former
default, under another --name). `--peers ours` (ml2tuner, xgb, random) and `--caches` narrow a
run for a closer look, e.g. more repeats on one cache, with the full run's seeds; they check
nothing.
Writes benchmarks/results/NAME.{txt,json} (default gpu_caches).
"""
import argparse
import json
import sys
import time

import numpy as np

from ml2tuner.errors import UserError
from ml2tuner.hpo.evaluate import load_space, map_tasks, run_seed
from ml2tuner.hpo.score import score_runs, score_runs_time

from _data import (GPU, GPU_DEV, GPU_HELD_OUT, ROOT, SHARED, plain_name, provenance,
                   write_result)

UNSEEN_DIR = ROOT / "benchmarks" / "data" / "kerneltuner_heldout"
GPU_UNSEEN = ["convolution__RTX_2080_Ti"]

OURS = ("ml2tuner", "xgb", "random")
KT = ("genetic_algorithm", "pso", "firefly_algorithm", "simulated_annealing", "dual_annealing",
      "bayes_opt", "random_sample")
CHECKED_BUDGETS = (50, 100, 200)
# the groups checked: the target's two (every shared cache, every cache the method was not
# developed on), and each part of them on its own
GROUPS = {"all shared caches": GPU, "caches not developed on": GPU_HELD_OUT + GPU_UNSEEN,
          "development caches": GPU_DEV, "held-out caches": GPU_HELD_OUT,
          "unseen caches": GPU_UNSEEN}
AIM = {50: 0.92, 100: 0.98, 200: 0.995}


def evaluated(path, peer, budget, seed, ml2_hp=None) -> list[int]:
    """The configurations `peer` evaluated on the cache at `path`, in order, at most `budget`
    (`ml2_hp`: ml2tuner's hyperparameters other than the defaults)."""
    data = load_space(path)
    if peer.startswith("kt:"):
        from ml2tuner.kt_peers import run_strategy
        return run_strategy(path, peer[3:], budget, seed, data=data)
    from ml2tuner.replay import ReplayMeasurer
    from ml2tuner.tuners import make_tuner
    hp = dict(ml2_hp or {}) if peer == "ml2tuner" else {}
    res = make_tuner(peer, data.space, seed=seed, **hp).tune(budget, ReplayMeasurer(data))
    return [r.index for r in res.history]


def run_task(path, peer, budget, seed, ml2_hp=None) -> dict:
    t0 = time.perf_counter()
    idx = evaluated(path, peer, budget, seed, ml2_hp)
    wall = time.perf_counter() - t0
    d = load_space(path)
    if len(set(idx)) != len(idx) or len(idx) > budget:
        raise RuntimeError(f"{peer}: {len(idx)} evaluations, {len(set(idx))} unique, "
                           f"budget {budget}")
    idx = np.asarray(idx, dtype=np.int64)
    ok = d.valid[idx]
    curve = np.minimum.accumulate(np.where(ok, d.cost[idx], np.inf))   # best found so far
    times = np.cumsum(d.profile_time[idx])       # the simulated clock after each evaluation
    worst = float(d.valid_costs_sorted[-1])
    best = float(curve[-1]) if curve.size and np.isfinite(curve[-1]) else worst
    return {"opt_over_best": d.optimum / best,
            "score": score_runs([curve], d, budget=budget).mean,
            "score_time": score_runs_time([(times, curve)], d, budget=budget).mean,
            "n_invalid": int((~ok).sum()), "n_evaluated": len(idx),
            "sim_seconds": float(times[-1]) if times.size else 0.0, "wall_seconds": wall}


def mean_of(rows, key):
    return float(np.mean([r[key] for r in rows]))


def paired_mean_se(ours, theirs):
    """`ours` minus `theirs` (per cache, one value per repeat), averaged over the caches, as
    (mean, one standard error) over the repeats: repeat r runs with the same seed on both
    sides, so the differences pair up."""
    d = np.mean([np.subtract(o, t) for o, t in zip(ours, theirs)], axis=0)
    se = float(np.std(d, ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")
    return float(np.mean(d)), se


def paired_difference(cells, caches, budget, peer, repeats):
    """ml2tuner's optimum/best minus `peer`'s over `caches` (`paired_mean_se`). None unless
    both were run here for every repeat (reused Kernel Tuner cells keep only their means)."""
    ours, theirs = [], []
    for g in caches:
        o, t = cells.get((g, budget, "ml2tuner"), []), cells.get((g, budget, peer), [])
        if len(o) != repeats or len(t) != repeats:
            return None
        ours.append([r["opt_over_best"] for r in o])
        theirs.append([r["opt_over_best"] for r in t])
    return paired_mean_se(ours, theirs)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--budgets", default="25,50,100,200")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="3 repeats (a smoke run; not checked "
                                                          "against the targets' noise)")
    ap.add_argument("--reuse-kt", action="append", default=[], metavar="FILE",
                    help="take Kernel Tuner strategies' cells from this earlier gpu_caches.json "
                         "(repeatable: files covering other repeats are merged)")
    ap.add_argument("--first-repeat", type=int, default=0,
                    help="run repeats first-repeat .. first-repeat+repeats-1")
    ap.add_argument("--peers", choices=("all", "kt", "ours"), default="all",
                    help="kt: Kernel Tuner's strategies only (cells to reuse later); ours: "
                         "ml2tuner, xgb and random only (no Kernel Tuner needed); either one: "
                         "no check")
    ap.add_argument("--caches", metavar="NAME,...",
                    help="only these caches (names as printed; default all): a closer look at "
                         "some, with the seeds of the full run; no check")
    ap.add_argument("--name", default="gpu_caches", type=plain_name,
                    help="result name in benchmarks/results")
    ap.add_argument("--ml2-hp", nargs="*", default=[], metavar="NAME=VALUE",
                    help="ml2tuner hyperparameters other than the defaults (a control run, "
                         "e.g. a former default; use with --name)")
    a = ap.parse_args(argv)
    repeats = 3 if a.quick else a.repeats
    if repeats < 1 or a.first_repeat < 0:
        print("--repeats must be >= 1 and --first-repeat >= 0", file=sys.stderr)
        return 2
    run_range = range(a.first_repeat, a.first_repeat + repeats)
    all_caches = {g: SHARED / f"{g}.json.gz" for g in GPU}
    all_caches.update({g: UNSEEN_DIR / f"{g}.json.gz" for g in GPU_UNSEEN})
    # a cache's seeds follow its place in the full list, so a subset run repeats the full run's
    order_all = list(all_caches)
    chosen = order_all if not a.caches else [g.strip() for g in a.caches.split(",") if g.strip()]
    unknown = [g for g in chosen if g not in all_caches]
    if unknown or not chosen:
        print(f"--caches: unknown {', '.join(unknown) or '(none given)'}; known: "
              f"{', '.join(order_all)}", file=sys.stderr)
        return 2
    caches = {g: all_caches[g] for g in order_all if g in chosen}
    missing = [str(p) for p in caches.values() if not p.exists()]
    if missing:
        print(f"GPU caches not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    kt_version = None
    if a.peers != "ours" or a.reuse_kt:
        try:
            import kernel_tuner
        except ImportError:
            print("Kernel Tuner is not installed: pip install -e '.[bench]'", file=sys.stderr)
            return 2
        kt_version = kernel_tuner.__version__
    try:
        from ml2tuner.cli.common import parse_hp
        from ml2tuner.hparams import resolve
        from ml2tuner.tuners import TUNERS
        ml2_hp = parse_hp(a.ml2_hp)
        resolve(TUNERS["ml2tuner"].HYPERPARAMETERS, ml2_hp)
    except UserError as e:
        print(f"--ml2-hp: {e}", file=sys.stderr)
        return 2
    prov = provenance(argv)    # before anything is written
    budgets = [int(b) for b in a.budgets.split(",")]
    peers = (([] if a.peers == "kt" else list(OURS))
             + ([] if a.peers == "ours" else [f"kt:{s}" for s in KT]))
    checking = a.peers == "all" and len(caches) == len(all_caches)
    # (cache, budget, peer) -> [(first repeat, repeats, cell means)] from earlier results
    reused, reuse_notes = {}, []
    for path in a.reuse_kt:
        try:
            old = json.loads(open(path).read())
        except (OSError, ValueError) as e:
            print(f"{path}: {e}", file=sys.stderr)
            return 2
        order = old.get("all_caches",
                        old.get("caches", list(GPU) + list(old.get("unseen_caches", []))))
        if (old.get("kernel_tuner"), old.get("seed")) != (kt_version, a.seed) or \
                any(g in all_caches and order.index(g) != order_all.index(g) for g in order):
            print(f"{path}: another Kernel Tuner version, seed or cache order", file=sys.stderr)
            return 2
        first, n = old.get("first_repeat", 0), old["repeats"]
        for c in old["cells"]:
            key = (c["cache"], c["budget"], c["peer"])
            have = reused.setdefault(key, [])
            if c["peer"].startswith("kt:") and not any(f == first for f, _n, _c in have):
                have.append((first, n, {k: v for k, v in c.items()
                                        if k not in ("cache", "budget", "peer")}))
        reuse_notes.append(f"{path} (repeats {first}-{first + n - 1}, commit "
                           f"{old.get('commit', old.get('git_commit'))})")

    def covered(key, r):
        return any(f <= r < f + n for f, n, _c in reused.get(key, []))
    tasks = [(str(p), peer, b, run_seed(a.seed, order_all.index(g), r), ml2_hp)
             for g, p in caches.items() for b in budgets for peer in peers
             for r in run_range if not covered((g, b, peer), r)]
    t0 = time.perf_counter()
    runs = map_tasks(run_task, tasks, n_jobs=a.jobs, desc="gpu caches", progress=None)
    wall = time.perf_counter() - t0
    cells = {}
    for (p, peer, b, _s, _hp), r in zip(tasks, runs):
        cells.setdefault((p.split("/")[-1].replace(".json.gz", ""), b, peer), []).append(r)
    summary = {}
    for g in caches:
        for b in budgets:
            for peer in peers:
                key = (g, b, peer)
                parts = [(n, c) for f, n, c in reused.get(key, [])
                         if f >= run_range.start and f + n <= run_range.stop]
                rs = cells.get(key, [])
                if rs:
                    parts.append((len(rs), {k: mean_of(rs, k) for k in rs[0]}))
                if sum(n for n, _c in parts) != repeats:
                    print(f"{key}: earlier results cover repeats that overlap or stick out of "
                          f"{run_range.start}-{run_range.stop - 1}", file=sys.stderr)
                    return 2
                summary[key] = {k: sum(n * c[k] for n, c in parts) / repeats
                                for k in parts[0][1]}

    lines = []

    def out(s=""):
        print(s, flush=True)
        lines.append(s)
    out((f"Kernel Tuner {kt_version} strategies (kt:, its defaults) in its simulation mode"
         if any(p.startswith("kt:") for p in peers) else
         "ml2tuner, xgb and random only (no Kernel Tuner strategies)")
        + f"; {repeats} repeats per cell; budget = configurations evaluated, failures included")
    if not checking:
        out(f"a subset of the peers or caches ({', '.join(caches)}): nothing is checked")
    out("opt/best: mean optimum/best found (1 = optimum); score: P on samples / on simulated "
        "time (0 = random search, 1 = optimum); inv: invalid configs evaluated; n: evaluated")
    if a.first_repeat:
        out(f"repeats {run_range.start}-{run_range.stop - 1}")
    if ml2_hp:
        out(f"ml2tuner run with {json.dumps(ml2_hp)} (the rest its defaults)")
    if reuse_notes:
        out(f"Kernel Tuner cells taken, by repeat range, from {'; '.join(reuse_notes)}: seeded "
            "runs of unchanged code (bit-identical when rerun, except bayes_opt: a rerun of one "
            "cell moved its opt/best by 0.0005)")
    out(f"development caches: {', '.join(GPU_DEV)}; held out: {', '.join(GPU_HELD_OUT)}; "
        f"unseen (shipped in benchmarks/data/kerneltuner_heldout): {', '.join(GPU_UNSEEN)}")
    width = max(len(p) for p in peers)
    for g in caches:
        out()
        out(f"== {g}")
        out(f"{'peer':{width}s} " + " ".join(f"{'B=' + str(b):>30s}" for b in budgets))
        out(f"{'':{width}s} " + " ".join(f"{'opt/best samp  time   inv     n':>30s}"
                                         for _ in budgets))
        for peer in peers:
            cols = []
            for b in budgets:
                s = summary[(g, b, peer)]
                cols.append(f"{s['opt_over_best']:8.3f} {s['score']:5.2f} {s['score_time']:5.2f} "
                            f"{s['n_invalid']:5.1f} {s['n_evaluated']:5.0f}")
            out(f"{peer:{width}s} " + " ".join(f"{c:>30s}" for c in cols))

    means, misses, unchecked, paired = {}, [], [], {}
    for name, gs in GROUPS.items():
        gs = [g for g in gs if g in caches]
        if not gs:
            continue
        out()
        out(f"== mean over {name} ({len(gs)})")
        out(f"{'peer':{width}s} " + " ".join(f"{'B=' + str(b):>24s}" for b in budgets))
        out(f"{'':{width}s} " + " ".join(f"{'opt/best samp  time   inv':>24s}" for _ in budgets))
        for peer in peers:
            cols = []
            for b in budgets:
                m = {k: float(np.mean([summary[(g, b, peer)][k] for g in gs]))
                     for k in ("opt_over_best", "score", "score_time", "n_invalid")}
                means[(name, b, peer)] = m
                cols.append(f"{m['opt_over_best']:8.3f} {m['score']:5.2f} "
                            f"{m['score_time']:5.2f} {m['n_invalid']:5.1f}")
            out(f"{peer:{width}s} " + " ".join(f"{c:>24s}" for c in cols))
        for b in CHECKED_BUDGETS:
            if b not in budgets or "ml2tuner" not in peers:
                continue
            ours = means[(name, b, "ml2tuner")]["opt_over_best"]
            top = max(peers[1:], key=lambda p: means[(name, b, p)]["opt_over_best"])
            theirs = means[(name, b, top)]["opt_over_best"]
            first, checked = ours >= theirs, checking
            out(f"  B={b}: ml2tuner {ours:.3f} vs best peer {top} {theirs:.3f}: "
                + (('FIRST' if first else 'MISS (not first)') if checked else
                   ('first' if first else 'not first') + ' (reported, not checked)')
                + f"; aim {AIM[b]}: {'hit' if ours >= AIM[b] else 'miss'}")
            if not first:
                (misses if checked else unchecked).append(
                    f"{name} B={b}: {top} {theirs:.3f} > ml2tuner {ours:.3f}")
            for peer in (p for p in OURS[1:] if p in peers):
                d = paired_difference(cells, gs, b, peer, repeats)
                if d is not None:
                    paired[(name, b, peer)] = d
                    out(f"    ml2tuner - {peer}, paired by repeat seed: {d[0]:+.4f} +- "
                        f"{d[1]:.4f} (one s.e. over {repeats} repeats)")
    out()
    verdict = ("Kernel Tuner cells only: nothing checked" if "ml2tuner" not in peers else
               "a subset of the peers or caches: nothing checked" if not checking else
               "ml2tuner first everywhere checked" if not misses else
               "MISSES: " + "; ".join(misses))
    if unchecked and "ml2tuner" in peers:
        verdict += "; not first in groups reported, not checked: " + "; ".join(unchecked)
    out(f"wall time {wall:.0f} s; {verdict}")
    write_result(a.name, "\n".join(lines), {
        "kernel_tuner": kt_version,
        "repeats": repeats, "first_repeat": run_range.start, "budgets": budgets, "seed": a.seed,
        "peers": peers, "ml2tuner_hparams": ml2_hp, "caches": list(caches),
        "all_caches": order_all,
        "development_caches": GPU_DEV, "held_out_caches": GPU_HELD_OUT,
        "unseen_caches": GPU_UNSEEN, "kt_cells_reused_from": reuse_notes,
        "cells": [{"cache": g, "budget": b, "peer": peer, **summary[(g, b, peer)]}
                  for (g, b, peer) in summary],
        "means": [{"group": n, "budget": b, "peer": peer, **m} for (n, b, peer), m
                  in means.items()],
        "paired_differences": [{"group": n, "budget": b, "peer": peer, "mean": d[0], "se": d[1]}
                               for (n, b, peer), d in paired.items()],
        "repeat_opt_over_best": [{"cache": g, "budget": b, "peer": peer,
                                  "values": [r["opt_over_best"] for r in rs]}
                                 for (g, b, peer), rs in cells.items()],
        "checked_groups": list(GROUPS), "misses": misses,
        "not_first_unchecked": unchecked, "wall_seconds": wall}, prov)
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
