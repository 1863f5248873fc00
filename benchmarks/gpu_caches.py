"""ML2Tuner against random search on the real GPU caches (../shared/data/kerneltuner) at budgets
25, 50, 100 and 200: score (P, budget points up to min(budget, cutoff)) and mean best found /
optimum. The T4-schema copy of the A100 convolution cache holds the same data and is left out.
    python benchmarks/gpu_caches.py [--repeats 10] [--jobs 2]
Writes benchmarks/results/gpu_caches.{txt,json}.
"""
import argparse
import json
import sys

from ml2tuner.hpo.evaluate import evaluate_setting

from _data import GPU, RESULTS, SHARED


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--budgets", default="25,50,100,200")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    caches = [SHARED / f"{g}.json.gz" for g in GPU]
    if not all(c.exists() for c in caches):
        print(f"GPU caches not found under {SHARED}", file=sys.stderr)
        return 2
    budgets = [int(b) for b in a.budgets.split(",")]
    lines, rows = [], []

    def out(s=""):
        print(s, flush=True)
        lines.append(s)
    out(f"{a.repeats} repeats per cell; score 0 = random search, 1 = optimum; "
        "best/opt = mean best found / optimum (time)")
    out(f"{'cache':30s} {'budget':>6s} {'ml2tuner score':>16s} {'best/opt':>8s} "
        f"{'random score':>16s} {'best/opt':>8s}")
    for c in caches:
        for b in budgets:
            cell = {"cache": c.name, "budget": b}
            for t in ("ml2tuner", "random"):
                r = evaluate_setting(t, {}, [c], a.repeats, b, a.seed, n_jobs=a.jobs)
                s = r["per_space"][0]
                cell[t] = {"score": r["score"], "score_std": r["score_std"],
                           "best_over_optimum": s["best_over_optimum_mean"],
                           "n_invalid_mean": s["n_invalid_mean"], "horizon": s["horizon"]}
            rows.append(cell)
            m, rd = cell["ml2tuner"], cell["random"]
            out(f"{c.name.replace('.json.gz', ''):30s} {b:6d} {m['score']:7.3f} ± "
                f"{m['score_std']:6.3f} {m['best_over_optimum']:8.3f} {rd['score']:7.3f} ± "
                f"{rd['score_std']:6.3f} {rd['best_over_optimum']:8.3f}")
    out("mean over caches:")
    for b in budgets:
        cells = [r for r in rows if r["budget"] == b]
        mean = {t: sum(r[t]["score"] for r in cells) / len(cells) for t in ("ml2tuner", "random")}
        ratio = {t: sum(r[t]["best_over_optimum"] for r in cells) / len(cells)
                 for t in ("ml2tuner", "random")}
        out(f"{'all ' + str(len(cells)) + ' caches':30s} {b:6d} {mean['ml2tuner']:16.3f} "
            f"{ratio['ml2tuner']:8.3f} {mean['random']:16.3f} {ratio['random']:8.3f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gpu_caches.txt").write_text("\n".join(lines) + "\n")
    (RESULTS / "gpu_caches.json").write_text(json.dumps(
        {"repeats": a.repeats, "budgets": budgets, "seed": a.seed, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
