"""ML2Tuner's cost model against MetaSchedule's default XGB cost model on real TVM (issue 6).

Every (workload, tuner, seed) is one `tvm_tune` run at the same trial budget, all in this one
process (the ~11 s `tvm.s_tir.tensor_intrin` import is paid once, before the first run, and is
not part of any run's tuning time). Both tuners use the same light builder, runner and
EvolutionarySearch settings; they differ in the cost model, the measure callbacks and, for
`ml2`, the search strategy:

    ml2          ML2CostModel (V/P/A on ml2tuner.surrogates) + ML2SearchStrategy (EvolutionarySearch
                 proposes (alpha+1)*N by V*P, V filters, A picks N) + UpdateCostModelAll
    ml2-predict  ML2CostModel with the selection inside predict() + stock EvolutionarySearch
    xgb          MetaSchedule's default: XGBModel + UpdateCostModel (drops build failures)

By default candidates that vectorize more than 8 lanes fail to build (`--max-vector-lanes 8`,
an accelerator-like limit, see ml2tuner/tvm/build.py); on an unconstrained llvm CPU target
nearly every candidate builds, so there would be no failures to learn. `--max-vector-lanes 0`
removes the limit.

Reported per run: best latency (median of the runner's repeats) and GFLOPS, failures measured,
tuning wall seconds (tune_tir only) and the run's wall seconds. The load average is printed:
other jobs may share the machine, which makes latencies and times noisy.

    PYTHONPATH=. python benchmarks/tvm_cost_model.py [--trials 32] [--seeds 0,1] \
        [--tuners ml2,xgb] [--workloads SPEC;SPEC] [--tag NAME]
Writes benchmarks/results/tvm_cost_model{_TAG}.{txt,json}; the last printed line is the JSON.
"""
import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WORKLOADS = ["matmul:M=128,N=128,K=128", "dense:B=16,I=256,O=256",
             "conv2d:N=1,H=14,W=14,CI=32,CO=32,KH=3,KW=3,pad=1"]
TUNERS = {"ml2": dict(use_ml2tuner=True, selection="strategy"),
          "ml2-predict": dict(use_ml2tuner=True, selection="predict"),
          "xgb": dict(use_ml2tuner=False)}


def _load():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=32)
    ap.add_argument("--seeds", default="0,1", help="comma-separated seeds (default 0,1)")
    ap.add_argument("--tuners", default="ml2,xgb", help=f"comma-separated, of {', '.join(TUNERS)}")
    ap.add_argument("--workloads", default=";".join(WORKLOADS), help="';'-separated specs")
    ap.add_argument("--max-vector-lanes", type=int, default=8, help="0: no build limit")
    ap.add_argument("--trials-per-iter", type=int, default=8)
    ap.add_argument("--population", type=int, default=512)
    ap.add_argument("--tag", default="", help="suffix of the result files")
    ap.add_argument("--no-save", action="store_true")
    a = ap.parse_args(argv)

    from ml2tuner.tvm import require_tvm
    require_tvm()
    from ml2tuner.tvm.tune import tvm_tune

    tuners = [t.strip() for t in a.tuners.split(",") if t.strip()]
    bad = [t for t in tuners if t not in TUNERS]
    if bad:
        ap.error(f"unknown tuner(s) {bad}; choose from {list(TUNERS)}")
    seeds = [int(s) for s in a.seeds.split(",") if s.strip()]
    workloads = [w.strip() for w in a.workloads.split(";") if w.strip()]
    lanes = a.max_vector_lanes or None
    lines, runs = [], []

    def out(s=""):
        print(s, flush=True)
        lines.append(s)

    t_start = time.perf_counter()
    load0 = _load()
    out(f"# {len(workloads)} workloads x {len(tuners)} tuners x {len(seeds)} seeds, {a.trials} "
        f"trials each ({a.trials_per_iter} per batch, population {a.population}); llvm target, "
        f"2 cores; build limit max_vector_lanes={lanes}; load average at start {load0}")
    # warm-up (not reported): the first tune_tir of a process pays one-off costs (the
    # tensor_intrin import, LLVM and pool start-up: 6-15 s here), which would bias the first run
    t0 = time.perf_counter()
    for t in dict.fromkeys(tuners):
        tvm_tune("matmul:M=16,N=16,K=16", 8, seed=0, population_size=64, min_repeat_ms=10,
                 **TUNERS[t])
    out(f"# warm-up (one 8-trial run of a 16^3 matmul per tuner, not reported): "
        f"{time.perf_counter() - t0:.0f} s")
    out(f"{'workload':44s} {'tuner':11s} {'seed':>4s} {'best us':>9s} {'GFLOPS':>7s} "
        f"{'fail':>7s} {'tune s':>7s} {'wall s':>7s}  failures per batch")
    for w in workloads:
        for seed in seeds:
            for t in tuners:
                r = tvm_tune(w, a.trials, seed=seed, num_trials_per_iter=a.trials_per_iter,
                             population_size=a.population, max_vector_lanes=lanes, keep=True,
                             **TUNERS[t])
                results = r.pop("_objects")["recorder"].results
                k = a.trials_per_iter
                per_batch = [sum(not x.valid for x in results[i:i + k])
                             for i in range(0, len(results), k)]
                fails = r["trials"] - r["n_ok"]
                row = {"workload": r["workload"], "tuner": t, "seed": seed,
                       "best_latency_s": r["best_latency_s"], "best_gflops": r["best_gflops"],
                       "trials": r["trials"], "failures": fails, "n_ok": r["n_ok"],
                       "failures_per_batch": per_batch,
                       "n_compile_error": r["n_compile_error"],
                       "n_runtime_error": r["n_runtime_error"], "n_timeout": r["n_timeout"],
                       "tune_s": round(r["tune_s"], 2), "wall_s": round(r["wall_s"], 2),
                       "init_s": round(r["init_s"], 2), "load": _load()}
                if "cost_model_timing" in r:
                    row["cost_model_timing"] = {k: (round(v, 3) if isinstance(v, float) else v)
                                                for k, v in r["cost_model_timing"].items()}
                if "selection_stats" in r:
                    row["selection_stats"] = {k: (round(v, 3) if isinstance(v, float) else v)
                                              for k, v in r["selection_stats"].items()}
                runs.append(row)
                best = r["best_latency_s"]
                out(f"{r['workload']:44s} {t:11s} {seed:4d} "
                    f"{best * 1e6 if best else float('nan'):9.1f} "
                    f"{r['best_gflops'] or float('nan'):7.2f} {fails:3d}/{r['trials']:<3d} "
                    f"{r['tune_s']:7.1f} {r['wall_s']:7.1f}  {' '.join(map(str, per_batch))}")

    # summary per tuner: geometric mean of best latency relative to the first tuner's
    out()
    ref = tuners[0]
    summary = {}
    for t in tuners:
        mine = [x for x in runs if x["tuner"] == t]
        ratios = []
        for x in mine:
            other = next((y for y in runs if y["tuner"] == ref and y["workload"] == x["workload"]
                          and y["seed"] == x["seed"]), None)
            if other and x["best_latency_s"] and other["best_latency_s"]:
                ratios.append(x["best_latency_s"] / other["best_latency_s"])
        summary[t] = {"runs": len(mine), "failures": sum(x["failures"] for x in mine),
                      "failures_after_first_batch": sum(sum(x["failures_per_batch"][1:])
                                                        for x in mine),
                      "trials": sum(x["trials"] for x in mine),
                      "tune_s": round(sum(x["tune_s"] for x in mine), 1),
                      f"geomean_best_latency_vs_{ref}": _geomean(ratios)}
    out(f"{'tuner':11s} {'failures':>10s} {'after batch 1':>13s} {'tune s':>8s} "
        f"{'best latency vs ' + ref + ' (geomean)':>32s}")
    for t, s in summary.items():
        g = s[f"geomean_best_latency_vs_{ref}"]
        out(f"{t:11s} {s['failures']:4d}/{s['trials']:<5d} {s['failures_after_first_batch']:13d} "
            f"{s['tune_s']:8.1f} {(f'{g:.3f}x' if g else '-'):>32s}")
    total = time.perf_counter() - t_start
    out(f"total wall {total:.0f} s; load average at end {_load()} (other jobs shared the 2 "
        f"cores, so latencies and times are noisy)")
    import tvm
    res = {"benchmark": "tvm_cost_model", "trials": a.trials, "seeds": seeds,
           "trials_per_iter": a.trials_per_iter, "population": a.population,
           "max_vector_lanes": lanes, "workloads": workloads, "tuners": tuners,
           "runs": runs, "summary": summary, "total_wall_s": round(total, 1),
           "load_start": load0, "load_end": _load(), "cpu_count": os.cpu_count(),
           "python": platform.python_version(), "tvm": tvm.__version__,
           "command": "python benchmarks/tvm_cost_model.py " + " ".join(sys.argv[1:] if argv is None
                                                                       else argv)}
    last = json.dumps(res, default=float)
    if not a.no_save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = "tvm_cost_model" + (f"_{a.tag}" if a.tag else "")
        (RESULTS / f"{stem}.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
        (RESULTS / f"{stem}.txt").write_text("\n".join(lines + [last]) + "\n")
    print(last)


if __name__ == "__main__":
    main()
