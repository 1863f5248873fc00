"""Cost of evaluating one hyperparameter setting: ML2Tuner (defaults) on the 10 vta-zcu102
traces x 10 repeats x 200 trials, serially, through joblib (n_jobs=2) and on a local Dask
cluster (2 worker processes). Checks that the three give the same score.
    python benchmarks/hpo_eval_cost.py [--repeats 10] [--budget 200] [--jobs 2] [--no-dask]
Writes benchmarks/results/hpo_eval_cost.{txt,json}. The machine's load average is printed:
other processes running at the same time slow every figure.
"""
import argparse
import logging
import os
import sys

from _data import ROOT, provenance, write_result
from ml2tuner.hpo.evaluate import evaluate_setting



def main():
    prov = provenance()          # before anything is written
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-dask", action="store_true")
    a = ap.parse_args()
    spaces = sorted((ROOT / "traces" / "vta-zcu102").glob("resnet18.C*.jsonl.gz"))
    lines, rows = [], {}

    def out(s=""):
        print(s, flush=True)
        lines.append(s)
    n_runs = len(spaces) * a.repeats
    out(f"one setting: ml2tuner defaults, {len(spaces)} spaces x {a.repeats} repeats x "
        f"{a.budget} trials = {n_runs} runs; {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at start")
    modes = [("serial", dict(n_jobs=1)), (f"joblib n_jobs={a.jobs}", dict(n_jobs=a.jobs))]
    cluster = None
    if not a.no_dask:
        from dask.distributed import LocalCluster
        cluster = LocalCluster(n_workers=a.jobs, processes=True, threads_per_worker=1,
                               dashboard_address=":0", silence_logs=logging.ERROR)
        modes.append((f"dask {a.jobs} workers", dict(dask_scheduler=cluster.scheduler_address)))
    try:
        for name, kw in modes:
            r = evaluate_setting("ml2tuner", {}, spaces, a.repeats, a.budget, a.seed, **kw)
            rows[name] = {"wall_seconds": r["wall_seconds"], "score": r["score"],
                          "score_std": r["score_std"],
                          "simulated_seconds": r["sim_seconds_total"]}
            out(f"{name:20s} {r['wall_seconds']:7.1f} s wall  ({r['wall_seconds'] / n_runs:.2f} "
                f"s/run)  score {r['score']:.4f} ± {r['score_std']:.4f}  simulated profiling "
                f"{r['sim_seconds_total'] / 3600:.1f} h")
    finally:
        if cluster is not None:
            cluster.close()
    scores = {v["score"] for v in rows.values()}
    serial = rows["serial"]["wall_seconds"]
    for name, v in rows.items():
        v["speedup_vs_serial"] = serial / v["wall_seconds"]
    out("speedup vs serial: " + ", ".join(f"{k} {v['speedup_vs_serial']:.2f}x"
                                          for k, v in rows.items()))
    out(f"identical scores in every mode: {len(scores) == 1}; load average "
        f"{os.getloadavg()[0]:.1f} at end")
    write_result("hpo_eval_cost", "\n".join(lines),
                 {"spaces": [p.name for p in spaces], "repeats": a.repeats, "budget": a.budget,
                  "runs": n_runs, "modes": rows, "identical": len(scores) == 1}, prov)
    return 0 if len(scores) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
