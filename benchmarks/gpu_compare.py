"""ML2Tuner in two recorded `gpu_caches.py` runs side by side: per cache and per group of caches,
the mean optimum/best of each and their difference paired by repeat (the runs share seeds when
they share --seed, --first-repeat and --repeats), with one standard error, and per cache how
many runs end within 0.98 of the optimum at budget 200. It reads result
files only (no tuning), so a control run with other ML2Tuner settings can be set against the
standing run after the fact, and the figures quoted from such a comparison have a command and
a commit behind them.
No target: it informs a choice; exit 0 (2 when a run cannot be read or the runs cannot be
paired). With `--adopt-within T` it also applies the adoption rule for a method change, fixed
before a change's runs: OTHER's mean is at least BASE's minus T on all shared caches and on the
caches not developed on at every budget; exit 1 when any OTHER fails it.

    python benchmarks/gpu_compare.py BASE OTHER [OTHER ...] [--name NAME] [--adopt-within T]
BASE and OTHER are result names under benchmarks/results (e.g. gpu_caches,
gpu_caches_early_random). Writes benchmarks/results/NAME.{txt,json} (default
gpu_compare_BASE).
"""
import argparse
import json
import sys

import numpy as np

from _data import RESULTS, plain_name, provenance, write_result
from gpu_caches import CHECKED_BUDGETS as BUDGETS, paired_mean_se

#: gpu_caches.py's groups, each read from the run's own record of its caches (JSON key)
GROUPS = {"all shared caches": "shared", "caches not developed on": "not_developed_on",
          "development caches": "development_caches", "held-out caches": "held_out_caches",
          "unseen caches": "unseen_caches"}
NEAR = 0.98          # a run that ends at least this close to the optimum found its basin
RULE_GROUPS = ("all shared caches", "caches not developed on")
PAIRED_ON = ("seed", "first_repeat", "repeats", "caches")


def load(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    try:
        d = json.loads(path.read_text())
        cells = {(r["cache"], r["budget"]): np.array(r["values"], dtype=float)
                 for r in d["repeat_opt_over_best"] if r["peer"] == "ml2tuner"}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a gpu_caches.py result with ML2Tuner's repeats ({e})")
    if not cells:
        raise ValueError(f"{path}: no ML2Tuner cells (a Kernel Tuner-only run?)")
    groups = {"shared": [c for c in d["all_caches"] if c not in d["unseen_caches"]],
              "not_developed_on": d["held_out_caches"] + d["unseen_caches"],
              **{k: d[k] for k in ("development_caches", "held_out_caches", "unseen_caches")}}
    return {"name": name, "commit": d.get("commit"), "hp": d.get("ml2tuner_hparams", {}),
            "cells": cells, "groups": groups, **{k: d.get(k) for k in PAIRED_ON}}


def paired(base: dict, other: dict, caches: list[str], budget: int):
    """Means of base and other over `caches`, and other minus base paired by repeat (mean,
    one standard error)."""
    a = [base["cells"][(c, budget)] for c in caches]
    b = [other["cells"][(c, budget)] for c in caches]
    return (float(np.mean(a)), float(np.mean(b))) + paired_mean_se(b, a)


def compare(base: dict, other: dict) -> tuple[list[str], list[dict]]:
    lines = [f"{other['name']} ({json.dumps(other['hp'])}, commit {other['commit']}) against "
             f"{base['name']} ({json.dumps(base['hp'])}, commit {base['commit']})",
             f"{'':32s}" + "".join(f"{'B=' + str(b):>28s}" for b in BUDGETS)
             + f"{'runs >= ' + str(NEAR) + ' at ' + str(BUDGETS[-1]):>22s}"]
    rows = []
    rows_src = [(c, [c]) for c in base["groups"]["shared"] + base["groups"]["unseen_caches"]]
    rows_src += [(label, base["groups"][key]) for label, key in GROUPS.items()]
    for label, caches in rows_src:
        cells = [paired(base, other, caches, b) for b in BUDGETS]
        row = {"row": label, "caches": caches,
               "cells": [dict(zip(("base", "other", "diff", "se"), c)) for c in cells]}
        line = f"{label[:32]:32s}" + "".join(f"  {x:.3f}->{y:.3f} {d:+.3f}±{s:.3f}"
                                             for x, y, d, s in cells)
        if len(caches) == 1:      # how the runs end: near the optimum or not
            near = [int((run["cells"][(caches[0], BUDGETS[-1])] >= NEAR).sum())
                    for run in (base, other)]
            row["near_optimum_runs"] = near
            line += f"{near[0]:>12d} ->{near[1]:>3d} of {base['repeats']}"
        rows.append(row)
        lines.append(line)
    return lines, rows


def adoption(rows: list[dict], within: float) -> tuple[bool, list[str]]:
    """The adoption rule over compare()'s rows: every RULE_GROUPS cell's other >= base - within
    (on the means as recorded, unrounded). Returns (passed, the cells that fail it)."""
    fails = [f"{r['row']} B={b}: {c['other']:.4f} vs {c['base']:.4f} ({c['diff']:+.4f})"
             for r in rows if r["row"] in RULE_GROUPS
             for b, c in zip(BUDGETS, r["cells"]) if c["other"] < c["base"] - within]
    return not fails, fails


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base", type=plain_name)
    ap.add_argument("others", nargs="+", metavar="other", type=plain_name)
    ap.add_argument("--name", type=plain_name)
    ap.add_argument("--adopt-within", type=float, metavar="T",
                    help="apply the adoption rule: OTHER >= BASE - T on all shared caches and "
                         "the caches not developed on at every budget (exit 1 if not)")
    a = ap.parse_args(argv)
    if a.adopt_within is not None and not 0 <= a.adopt_within < 1:
        ap.error("--adopt-within must be in [0, 1)")
    prov = provenance(argv)
    try:
        base = load(a.base)
        others = [load(name) for name in a.others]
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    text, out, rule_failed = [], [], False
    for name, other in zip(a.others, others):
        differ = [k for k in PAIRED_ON if other[k] != base[k]]
        missing = [k for k in base["cells"] if k[1] in BUDGETS and k not in other["cells"]]
        if differ or missing:
            print(f"{name} cannot be paired with {a.base}: "
                  + (f"different {', '.join(differ)}" if differ else
                     f"{len(missing)} of its cells missing"), file=sys.stderr)
            return 2
        lines, rows = compare(base, other)
        entry = {"other": name, "other_commit": other["commit"], "other_hp": other["hp"],
                 "rows": rows}
        if a.adopt_within is not None:
            ok, fails = adoption(rows, a.adopt_within)
            rule_failed |= not ok
            entry["adoption"] = {"within": a.adopt_within, "passed": ok, "fails": fails}
            lines.append(f"adoption rule (>= base - {a.adopt_within} on "
                         f"{' and '.join(RULE_GROUPS)} at every budget): "
                         + ("PASSED" if ok else "FAILED: " + "; ".join(fails)))
        text += lines + [""]
        out.append(entry)
    text.insert(0, f"ML2Tuner's mean optimum/best, base -> other and the difference paired by "
                   f"repeat ± one standard error ({base['repeats']} repeats, seed "
                   f"{base['seed']})\n")
    print("\n".join(text))
    write_result(a.name or f"gpu_compare_{a.base}", "\n".join(text),
                 {"base": a.base, "base_commit": base["commit"], "budgets": list(BUDGETS),
                  "comparisons": out}, prov)
    return 1 if rule_failed else 0


if __name__ == "__main__":
    sys.exit(main())
