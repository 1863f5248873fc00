"""Meta-level check: how many meta-evaluations random search, dual annealing, TPE and SMAC3
(algorithm-configuration facade, one deterministic instance) need to reach the best point of
each exhaustive hyperparameter grid in
../shared/data/kerneltuner/hyperparameters/ (cap: the grid size), over several seeds.
E[random] is the exact expectation for random sampling without replacement. Prints, per grid,
the strategy with the fewest evaluations on average (seeds that miss count as the cap).
    python benchmarks/meta_check.py [--seeds 10] [--quick]
Writes benchmarks/results/meta_check.{txt,json}.
"""
import argparse
import sys
import time

from ml2tuner.hpo.meta_check import check_grid, format_table

from _data import SHARED, write_result

GRIDS = SHARED / "hyperparameters"


def winners(rows) -> list[str]:
    """Per grid, the strategy with the fewest evaluations to the best (misses count as cap)."""
    out = []
    for g in dict.fromkeys(r["grid"] for r in rows):
        cells = [r for r in rows if r["grid"] == g]
        cost = {r["strategy"]: sum(x if x is not None else r["cap"] for x in r["per_seed"])
                / r["seeds"] for r in cells}
        best = min(cost, key=cost.get)
        out.append(f"{g:22s} fewest evaluations: {best} ({cost[best]:.1f} on average; "
                   + ", ".join(f"{k} {v:.1f}" for k, v in cost.items() if k != best) + ")")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="2 seeds on the two smallest grids")
    a = ap.parse_args()
    grids = sorted(GRIDS.glob("*.json.gz"))
    if a.quick:
        a.seeds, grids = 2, sorted(grids, key=lambda g: g.stat().st_size)[:2]
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
             f"{time.perf_counter() - t0:.0f} s.\n" + "\n".join(winners(rows)))
    print(text)
    write_result("meta_check" + ("_quick" if a.quick else ""), text,
                 {"seeds": a.seeds, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
