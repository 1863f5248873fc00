"""Tuned vs default hyperparameters of ML2Tuner on spaces the search never saw.

Two splits:
- gpu: train on the three shared Kernel Tuner caches ML2Tuner's GPU-cache defaults were
  developed on, test on the three others (so defaults and search start from the same data);
- vta: train on five ResNet-18 layers of both accelerators (traces/vta-*/), test on conv
  layers outside ResNet-18 (traces/heldout/vta-*/: 11 ResNet-50, YOLOv3, AlexNet, MobileNet
  and VGG-16 layers per accelerator).
`ml2tuner hpo` (the library's `hpo`) searches the settings that act on each kind of space
(`PARAMS`) with the chosen meta-strategy (default SMAC3 algorithm configuration) on the
time-axis score, re-evaluates the incumbent against the defaults on 20 fresh seeds per training
space (the defaults stand unless it wins), and scores the result on the held-out spaces with a
paired bootstrap 95 % CI. A setting's score averages runs whose P is raised to -1 where below
(`--floor`; P is unbounded below and single runs reached -16); the raw mean is reported too.
Target per split: held-out improvement of the final setting >= 10 % (relative to the
defaults' |score|, their distance from random search) with the CI above 0 (exit 1 when missed).
`--per-kind` (VTA split; `ml2tuner hpo --per-kind`): one search per kind of layer (1x1 and KxK
kernels; the kernel size is known before tuning), each trained on that kind's ResNet-18 layers
with its share of the run budget and tested on that kind's held-out layers; the held-out runs of
both are pooled into one paired bootstrap, which the target is checked on; name/settings.json
holds both kinds' settings (`tune --hp-file` picks the workload's).
    python benchmarks/hpo_ml2tuner.py [--split gpu,vta] [--meta smac] [--evals N] [--quick]
                                      [--per-kind] [--params A,B,...] [--name NAME]
Writes benchmarks/results/hpo_ml2tuner[_<split>][_quick].{txt,json} and the same name/<split>/
(settings.json, hpo.csv, hpo.json, hpo.png).
"""
import argparse
import os
import sys

from ml2tuner.cli.hpo import format_hpo, format_pooled
from ml2tuner.hpo.kinds import hpo_per_kind
from ml2tuner.hpo.meta import hpo
from ml2tuner.hpo.objective import SCORE_FLOOR

from _data import (GPU_DEV, GPU_HELD_OUT, RESULTS, ROOT, SHARED, plain_name, provenance,
                   write_result)

TRAIN_LAYERS = ["C2", "C4", "C6", "C8", "C10"]

#: the settings searched per split: those that act on that kind of space. Without a compiler
#: (GPU caches) Model A never runs, the trust region, crossover and V-screened random share
#: fill each round, and the first batch's design weighs on the score's early points; with one
#: (VTA) every candidate A ranks is compiled first, and the clock charges each compile (0.3 s
#: against 0.4-0.6 s per profile), so alpha, neighbour_top and use_a decide how much of the
#: time budget goes on compiles that are never measured.
PARAMS = {
    "gpu": ["batch_size", "n_init_no_compiler", "v_threshold", "epsilon", "epsilon_no_compiler",
            "local_share", "crossover_share", "crossover_top", "neighbour_top", "init_design"],
    "vta": ["batch_size", "n_init", "v_threshold", "epsilon", "a_min_valid", "alpha",
            "neighbour_top", "use_a"]}
#: per split: full evaluations of search budget, seeds per space in the search (also SMAC's
#: cap on runs of one setting: repeats x spaces), seeds per held-out space. Sized to one
#: ~15-minute run on one core each.
BUDGETS = {"gpu": dict(evals=25, repeats=10, test_repeats=30),
           "vta": dict(evals=10, repeats=6, test_repeats=20)}


def _cell(v) -> str:
    """A per-space score, or "crashed" where every run of the setting there crashed."""
    return f"{'crashed':>7s}" if v is None else f"{v:7.3f}"


def split_spaces(split: str, quick: bool):
    if split == "gpu":
        train = [SHARED / f"{g}.json.gz" for g in GPU_DEV]
        test = [SHARED / f"{g}.json.gz" for g in GPU_HELD_OUT]
    else:
        layers = TRAIN_LAYERS[:2] if quick else TRAIN_LAYERS
        train = [ROOT / "traces" / a / f"resnet18.{c}.jsonl.gz"
                 for a in ("vta-1x16", "vta-zcu102") for c in layers]
        test = sorted((ROOT / "traces" / "heldout").glob("vta-*/*.jsonl.gz"))
    if quick:
        train, test = train[:2], test[:2]
    missing = [str(p) for p in train + test if not p.exists()]
    return train, test, missing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="gpu,vta")
    ap.add_argument("--meta", default="smac")
    ap.add_argument("--evals", type=int, help="search budget in full evaluations (default: "
                    "per split, BUDGETS)")
    ap.add_argument("--repeats", type=int, help="seeds per training space (default: BUDGETS)")
    ap.add_argument("--validate-repeats", type=int, default=20)
    ap.add_argument("--test-repeats", type=int, help="seeds per held-out space (default: "
                    "BUDGETS)")
    ap.add_argument("--params", help="comma-separated settings to search (default: per split, "
                    "PARAMS)")
    ap.add_argument("--floor", type=float, default=SCORE_FLOOR,
                    help="each run's score is raised to this before averaging")
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--axis", default="time")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target", type=float, default=10.0, help="minimum held-out improvement %%")
    ap.add_argument("--quick", action="store_true", help="a short check: 2+2 spaces, tiny budgets")
    ap.add_argument("--name", type=plain_name,
                    help="result name in benchmarks/results (default from the splits, e.g. "
                         "hpo_ml2tuner_gpu): a variant, e.g. another --params, under its own name")
    ap.add_argument("--per-kind", action="store_true",
                    help="VTA split: one search per kind of layer (1x1, KxK), results pooled")
    a = ap.parse_args()
    prov = provenance()       # before anything is written: the saved settings are tracked files
    if a.quick:
        a.evals, a.repeats, a.validate_repeats, a.test_repeats, a.budget = 2, 1, 2, 2, 60
    os.chdir(ROOT)            # relative paths in the saved results
    splits = [s.strip() for s in a.split.split(",") if s.strip()]
    name = a.name or ("hpo_ml2tuner" + ("" if splits == ["gpu", "vta"] else "_" + "_".join(splits))
                      + ("_per_kind" if a.per_kind else "") + ("_quick" if a.quick else ""))
    if a.per_kind and splits != ["vta"]:
        ap.error("--per-kind applies to the VTA split only (--split vta)")
    text, data, ok = [], {"splits": {}}, True
    for split in splits:
        train, test, missing = split_spaces(split, a.quick)
        if missing:
            text.append(f"[{split}] skipped: missing {', '.join(missing)}")
            print(text[-1], file=sys.stderr)
            ok = False
            continue
        rel = [[os.path.relpath(p, ROOT) for p in x] for x in (train, test)]
        b = {k: (v if getattr(a, k) is None else getattr(a, k)) for k, v in BUDGETS[split].items()}
        names = a.params.split(",") if a.params else PARAMS[split]
        if a.per_kind:
            hit, lines, d = per_kind(a, rel, b, names, name)
            ok &= hit
            text += lines
            data["splits"][split] = d
            continue
        d = run_hpo(a, b, names, rel[0], rel[1], RESULTS / name / split)
        c = d["test_final_vs_defaults"][a.axis]
        hit = meets(c, a.target)
        ok &= hit
        text += [f"[{split}] train {len(train)} spaces, test {len(test)} spaces", format_hpo(d),
                 "  per held-out space (incumbent / defaults, "
                 f"{a.axis} axis):"]
        text += [f"    {k:48s} {_cell(v['incumbent'])} / {_cell(v['defaults'])}"
                 for k, v in d["test_per_space"].items()]
        r = d["test_final_vs_defaults_raw"][a.axis] if a.floor is not None else c
        raw_hit = meets(r, a.target)
        ci = d["test_incumbent_vs_defaults"][a.axis]
        if ci is not None and not d["incumbent_is_default"]:
            half = (ci["diff_ci"][1] - ci["diff_ci"][0]) / 2
            text.append(f"  held-out resolution: the incumbent-vs-defaults difference has a 95 % "
                        f"CI half-width of {half:.3f} (in P; {100 * half / abs(ci['old']):.0f} % "
                        f"of the defaults' |score|): a true improvement much smaller than that "
                        f"cannot show a CI above 0 with {len(test)} spaces x "
                        f"{d['test_repeats']} seeds")
        text.append(target_line(a, "final setting", hit, raw_hit))
        print("\n".join(text[-(len(d["test_per_space"]) + 5):]), flush=True)
        data["splits"][split] = {k: v for k, v in d.items() if k != "history"} | {
            "met": hit, "met_on_raw_mean": raw_hit}
    text.append(f"overall: {'all targets met' if ok else 'target NOT met'}")
    print(text[-1])
    write_result(name, "\n".join(text), {"args": vars(a), **data, "met": ok}, prov)
    return 0 if ok else 1


def hpo_args(a, b, names) -> dict:
    """`ml2tuner hpo`'s arguments from this benchmark's and budgets `b`."""
    return dict(meta=a.meta, evals=b["evals"], repeats=b["repeats"], budget=a.budget,
                seed=a.seed, n_jobs=a.jobs, names=names, test_repeats=b["test_repeats"],
                validate_repeats=a.validate_repeats, axis=a.axis, progress=True,
                floor=a.floor)


def run_hpo(a, b, names, train, test, out_dir):
    """`ml2tuner hpo` of ML2Tuner with this benchmark's arguments and budgets `b`."""
    return hpo("ml2tuner", train, test, out_dir=out_dir, **hpo_args(a, b, names))


def meets(c, target: float) -> bool:
    """A held-out comparison meets the target: >= target % better, with the 95 % CI above 0."""
    return c is not None and c["pct"] >= target and c["pct_ci"][0] > 0


def target_line(a, what: str, hit: bool, raw_hit: bool) -> str:
    return (f"  target: {what} >= {a.target:.0f} % better on held-out spaces with the 95 % CI "
            f"above 0: {'met' if hit else 'NOT met'}"
            + ("" if a.floor is None else f" (runs floored at {a.floor:g}; on the raw "
               f"mean: {'met' if raw_hit else 'NOT met'})"))


def per_kind(a, rel, b, names, name):
    """One search per kind of layer (`ml2tuner hpo --per-kind`); held-out runs pooled into
    one paired bootstrap."""
    d = hpo_per_kind("ml2tuner", rel[0], rel[1], out_dir=RESULTS / name,
                     **hpo_args(a, b, names))
    lines, out = [], {}
    for kind, s in d["kinds"].items():
        lines += [f"[vta, {kind} layers] train {len(s['train'])} spaces, test "
                  f"{len(s['test'])} spaces", format_hpo(s),
                  f"  per held-out space (final / defaults, {a.axis} axis):"]
        lines += [f"    {k:48s} {_cell(v['incumbent'] if s['kept'] else v['defaults'])} / "
                  f"{_cell(v['defaults'])}" for k, v in s["test_per_space"].items()]
        out[kind] = {k: v for k, v in s.items() if k not in ("history", "test_runs")}
    c, r = d["pooled_vs_defaults"][a.axis], d["pooled_vs_defaults_raw"][a.axis]
    if c is None or r is None:
        lines.append("  pooled: some held-out runs crashed; no pooled figure")
        print("\n".join(lines), flush=True)
        return False, lines, {"kinds": out, "met": False}
    hit, raw_hit = meets(c, a.target), meets(r, a.target)
    lines += [format_pooled(d, c), format_pooled(d, r, ", raw mean")]
    lines.append(target_line(a, "final settings", hit, raw_hit))
    print("\n".join(lines), flush=True)
    return hit, lines, {"kinds": out, "pooled": c, "pooled_raw": r, "met": hit,
                        "met_on_raw_mean": raw_hit}

if __name__ == "__main__":
    sys.exit(main())
