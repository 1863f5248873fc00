"""Tuned vs default hyperparameters of ML2Tuner, scored on held-out spaces.

Train: vta-zcu102 ResNet-18 C2-C6 + 2 GPU caches (A100 convolution, RTX 3090 pnpoly).
Test: vta-zcu102 C7-C11 + the 4 other GPU caches. The meta-strategy (default TPE) searches the
default subset of ML2Tuner's table (`hpo.meta.DEFAULT_SUBSET`); the objective is the aggregate
score on the training spaces (runs stop at their last budget point, which leaves the score
unchanged). The defaults are the first meta-evaluation.
    python benchmarks/hpo_ml2tuner.py [--meta tpe] [--evals 60] [--repeats 5] [--test-repeats 10]
Writes benchmarks/results/hpo_ml2tuner/{hpo.csv,hpo.json,hpo.png} and hpo_ml2tuner.txt.
"""
import argparse
import json
import os
import sys
from pathlib import Path

from ml2tuner.hpo.meta import hpo

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHARED = ROOT.parent / "shared" / "data" / "kerneltuner"
VTA = ROOT / "traces" / "vta-zcu102"
TRAIN_GPU = ["convolution_milo__A100", "legacy_pnpoly__RTX_3090"]
TEST_GPU = ["convolution_milo__A4000", "dedispersion_milo__A100", "legacy_convolution__RTX_3090",
            "legacy_gemm__RTX_3090"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", default="tpe")
    ap.add_argument("--evals", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--test-repeats", type=int, default=10)
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    gpu_ok = all((SHARED / f"{g}.json.gz").exists() for g in TRAIN_GPU + TEST_GPU)
    train = [VTA / f"resnet18.C{i}.jsonl.gz" for i in range(2, 7)]
    test = [VTA / f"resnet18.C{i}.jsonl.gz" for i in range(7, 12)]
    if gpu_ok:
        train += [SHARED / f"{g}.json.gz" for g in TRAIN_GPU]
        test += [SHARED / f"{g}.json.gz" for g in TEST_GPU]
    else:
        print(f"GPU caches not found under {SHARED}: VTA traces only", file=sys.stderr)
    os.chdir(ROOT)            # relative paths in the saved results
    train, test = ([os.path.relpath(p, ROOT) for p in x] for x in (train, test))
    d = hpo("ml2tuner", train, test, a.meta, a.evals, repeats=a.repeats, budget=a.budget,
            seed=a.seed, n_jobs=a.jobs, out_dir=RESULTS / "hpo_ml2tuner",
            test_repeats=a.test_repeats, progress=True)
    lines = [
        f"ML2Tuner HPO with {a.meta}: {d['n_evaluated']} settings ({d['n_failed']} crashed) of "
        f"{len(d['searched'])} hyperparameters, {a.repeats} repeats x {len(train)} training "
        f"spaces, budget {a.budget}; {d['wall_seconds']:.0f} s on {os.cpu_count()} cores",
        f"best (eval {d['best_eval']}): {json.dumps(d['best_hparams'])}",
        f"train score: tuned {d['best_train_score']:.4f}  defaults "
        f"{d['default_train_score']:.4f}",
        f"test score ({len(test)} held-out spaces, {a.test_repeats} repeats): tuned "
        f"{d['best_test_score']:.4f} ± {d['best_test_score_std']:.4f}  defaults "
        f"{d['default_test_score']:.4f} ± {d['default_test_score_std']:.4f}  improvement "
        + (f"{d['test_improvement_pct']:+.1f} %" if d["test_improvement_pct"] is not None
           else "n/a"),
        "per held-out space (tuned / defaults):"]
    lines += [f"  {k:36s} {v['best']:7.3f} / {v['default']:7.3f}"
              for k, v in d["test_per_space"].items()]
    print("\n".join(lines))
    (RESULTS / "hpo_ml2tuner.txt").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
