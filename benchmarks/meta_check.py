"""Meta-level check: how many meta-evaluations random search, dual annealing and TPE need to
reach the best point of each exhaustive hyperparameter grid in
../shared/data/kerneltuner/hyperparameters/ (cap: the grid size), over several seeds.
E[random] is the exact expectation for random sampling without replacement.
    python benchmarks/meta_check.py [--seeds 10]
Writes benchmarks/results/meta_check.{txt,json}.
"""
import argparse
import json
import sys
import time
from pathlib import Path

from ml2tuner.hpo.meta_check import check_grid, format_table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
GRIDS = ROOT.parent / "shared" / "data" / "kerneltuner" / "hyperparameters"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    a = ap.parse_args()
    grids = sorted(GRIDS.glob("*.json.gz"))
    if not grids:
        print(f"no hyperparameter grids under {GRIDS}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rows = []
    for g in grids:
        rows += check_grid(g, seeds=range(a.seeds))
        print(format_table([r for r in rows if r["grid"] in g.name]).split("\n", 2)[-1],
              flush=True)
    text = format_table(rows)
    text += (f"\n{a.seeds} seeds per cell; 'reached' counts seeds that evaluated a best grid "
             f"point within the cap (the grid size); mean/median/max over those seeds. "
             f"{time.perf_counter() - t0:.0f} s.")
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "meta_check.txt").write_text(text + "\n")
    (RESULTS / "meta_check.json").write_text(json.dumps({"seeds": a.seeds, "rows": rows},
                                                        indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
