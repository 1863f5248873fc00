"""ML2Tuner's cost model vs MetaSchedule's default XGB cost model vs random, on real TVM.

Tasks: the largest 3x3 convolution(s) of the shipped ResNet-18-style model (`--convs`,
`ml2tuner.tvm.models`, fused with bias/ReLU/residual add as MetaSchedule extracts them) and two
operators (a 128^3 matmul and a dense layer). Every (task, seed) is tuned by each tuner with the
same budget, builder (make_builder), runner and EvolutionarySearch settings, back to back in this
one process, so each comparison is a ratio measured under the same machine load:

    ml2     ML2CostModel (V/P/A) + ML2SearchStrategy + UpdateCostModelAll
    xgb     MetaSchedule's default: XGBModel + UpdateCostModel
    random  MetaSchedule's RandomModel with the same evolutionary search

Failures come from real sources only (no artificial build limit): on this llvm CPU target almost
every candidate builds and runs.

Reported: best latency vs trials (curves, PNG), best latency at half and at the full budget
(geometric mean over tasks and seeds of ml2/xgb and random/xgb, paired by task and seed), trials
each tuner needs to reach the XGB model's final latency (median over seeds of XGB's best at the
full budget, the lower median for an even count), and tuning wall time split into build, run, cost-model and other (search) time.
Transfer: a bundle trained with `ml2tuner train`'s TVM path on the ml2 traces of the other
tasks warm-starts ML2CostModel on the held-out last operator (the dense layer); trials to reach the cold ml2 run's
final latency, warm vs cold.

Target (checked, exit 1 on a miss): ml2's geometric-mean best latency at the full budget <= xgb's
(ratio <= 1.0) and ml2 reaches xgb's final latency in >= 1.2x fewer trials on most tasks.

    PYTHONPATH=. python benchmarks/tvm_cost_model.py [--budget 32] [--seeds 0,1,2] [--convs 1]
                                                     [--quick]
Writes benchmarks/results/tvm_cost_model{_quick}.{txt,json,png}.
"""
import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import RESULTS, write_result  # noqa: E402

OPERATORS = ["matmul:M=128,N=128,K=128", "dense:B=16,I=512,O=256"]
TUNERS = ["ml2", "xgb", "random"]
VARIANTS = {"ml2-va": dict(cost_model="ml2", proposal="va")}  # opt-in (--tuners): A steers


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0 and math.isfinite(x)]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None


def trials_to_reach(curve, target):
    """1-based trial at which the best-so-far latency first is <= target; None if never."""
    for i, c in enumerate(curve):
        if c is not None and c <= target * (1 + 1e-9):
            return i + 1
    return None


def median_trials(values):
    """Median over seeds, a run that never reached counting as infinitely many trials."""
    v = statistics.median([math.inf if x is None else x for x in values])
    return None if math.isinf(v) else v


def conv_tasks(n=2):
    """The n largest distinct conv2d tasks of the shipped ResNet-style model: (name, IRModule)."""
    import tvm
    from tvm.s_tir.analysis import estimate_tir_flops

    from ml2tuner.tvm.models import build_model
    from ml2tuner.tvm.relax_tune import extract_tasks, prepare
    tgt = tvm.target.Target({"kind": "llvm", "num-cores": 2})
    tasks = extract_tasks(prepare(build_model("resnet").mod, tgt), tgt)
    convs = [(str(t.task_name), t.dispatched[0]) for t in tasks if "conv2d" in str(t.task_name)]
    convs.sort(key=lambda x: -float(estimate_tir_flops(x[1])))
    seen, out = set(), []
    for name, mod in convs:
        f = float(estimate_tir_flops(mod))
        if f not in seen:
            seen.add(f)
            out.append((f"resnet/{name}", mod))
    return out[:n]


def plot(path, runs, tasks, tuners, budget):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        for t in tuners:
            curves = [r["curve"] for r in runs if r["task"] == task and r["tuner"] == t]
            if not curves:
                continue
            pts = [geomean([c[i] for c in curves]) for i in range(budget)]
            ax.plot(range(1, budget + 1), [p * 1e6 if p else float("nan") for p in pts], label=t)
        ax.set_title(task.split("/")[-1][:34], fontsize=8)
        ax.set_xlabel("trials")
        ax.set_yscale("log")
    axes[0][0].set_ylabel("best latency so far, us (geomean over seeds)")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=32, help="trials per task (default 32)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--population", type=int, default=64,
                    help="evolutionary search population (default 64: on the conv tasks the "
                         "search, not the builds, dominates the time at 256)")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: budget 8, seeds 0,1, two small operators")
    ap.add_argument("--convs", type=int, default=1,
                    help="conv tasks of the model, largest first (default 1: on 2 shared cores "
                         "a 32-trial conv run takes ~4 min, mostly builds)")
    ap.add_argument("--no-transfer", action="store_true")
    ap.add_argument("--tuners", default=",".join(TUNERS),
                    help=f"comma-separated, of {', '.join(TUNERS + list(VARIANTS))}; "
                         "must include ml2 and xgb")
    ap.add_argument("--operators", default=";".join(OPERATORS), help="';'-separated specs")
    ap.add_argument("--tag", default="", help="suffix of the result files")
    a = ap.parse_args(argv)
    from ml2tuner.tvm import require_tvm
    require_tvm()
    import tvm.s_tir.tensor_intrin  # noqa: F401  (the one-off ~11 s import, outside every run)

    from ml2tuner.tvm.trace_training import train_tvm
    from ml2tuner.tvm.tune import tvm_tune
    budget, seeds = a.budget, [int(s) for s in a.seeds.split(",")]
    tuners = [t for t in a.tuners.split(",") if t]
    if "ml2" not in tuners or "xgb" not in tuners or \
            any(t not in TUNERS and t not in VARIANTS for t in tuners):
        ap.error(f"--tuners must include ml2 and xgb, of {TUNERS + list(VARIANTS)}")
    ops = [o for o in a.operators.split(";") if o]
    convs = conv_tasks(a.convs)
    transfer = not a.no_transfer
    if a.quick:
        budget, seeds, convs = 8, [0, 1], []
        ops = ["matmul:M=32,N=32,K=32", "dense:B=4,I=64,O=32"]
    tasks = [(name, mod) for name, mod in convs] + [(spec, spec) for spec in ops]
    names = [n for n, _ in tasks]
    half = budget // 2
    work = Path(tempfile.mkdtemp(prefix="tvm-bench-"))
    lines, runs = [], []

    def out(s=""):
        print(s, flush=True)
        lines.append(s)

    def run(name, mod, tuner, seed, **kw):
        trace = work / f"{tuner}-{len(runs)}.jsonl" if tuner == "ml2" else None
        kw = {"cost_model": tuner, **VARIANTS.get(tuner, {}), **kw}
        r = tvm_tune(mod, budget, seed=seed, task_name=name,
                     population_size=a.population, min_repeat_ms=50, trace_path=trace, **kw)
        row = {"task": name, "tuner": tuner, "seed": seed, "best_s": r["best_latency_s"],
               "curve": r["curve"], "failures": r["trials"] - r["n_ok"], "trials": r["trials"],
               "tune_s": r["tune_s"], "time_split": r["time_split"],
               "trace": str(trace) if trace else None, "load": os.getloadavg()[0]}
        sp = r["time_split"]
        out(f"{name[:40]:40s} {tuner:10s} {seed:4d} {(r['best_latency_s'] or 0) * 1e6:9.1f} "
            f"{row['failures']:3d}/{r['trials']:<3d} {r['tune_s']:7.1f} {sp['build_s']:7.1f} "
            f"{sp['run_s']:6.1f} {sp['model_s']:6.1f} {sp['other_s']:6.1f}  load {row['load']:.1f}")
        return row

    t_start = time.perf_counter()
    out(f"# {len(tasks)} tasks x {len(tuners)} tuners x {len(seeds)} seeds, budget {budget} "
        f"trials per task (8 per batch, population {a.population}); llvm, 2 cores; no build "
        f"limit; load average at start {os.getloadavg()[0]:.1f}")
    out(f"{'task':40s} {'tuner':10s} {'seed':>4s} {'best us':>9s} {'fail':>7s} {'tune s':>7s} "
        f"{'build':>7s} {'run':>6s} {'model':>6s} {'other':>6s}")
    for name, mod in tasks:
        for seed in seeds:
            for tuner in tuners:
                runs.append(run(name, mod, tuner, seed))

    # ----- summary ------------------------------------------------------------------------------
    def best_at(row, n):
        return row["curve"][n - 1] if len(row["curve"]) >= n else row["best_s"]

    def pick(task, tuner, seed, rows=runs):
        return next(r for r in rows if r["task"] == task and r["tuner"] == tuner
                    and r["seed"] == seed)

    summary = {"ratios": {}, "trials_to_xgb_final": {}, "time_split": {}}
    out()
    out("best latency, geometric mean over tasks and seeds of the paired ratio to xgb:")
    for t in tuners:
        for n in (half, budget):
            g = geomean([best_at(pick(task, t, s), n) / best_at(pick(task, "xgb", s), n)
                         for task in names for s in seeds])
            summary["ratios"][f"{t}_vs_xgb_at_{n}"] = g
        out(f"  {t:8s} at {half} trials {summary['ratios'][f'{t}_vs_xgb_at_{half}']:.3f}x, at "
            f"{budget} trials {summary['ratios'][f'{t}_vs_xgb_at_{budget}']:.3f}x")
    out()
    out(f"trials to reach xgb's final latency (median over seeds of xgb's best at {budget}); "
        "median over seeds, '-' = not reached:")
    wins = 0
    for task in names:
        target = statistics.median_low(pick(task, "xgb", s)["best_s"] for s in seeds)
        per = {t: [trials_to_reach(pick(task, t, s)["curve"], target) for s in seeds]
               for t in tuners}
        med = {t: median_trials(v) for t, v in per.items()}
        ratio = (med["xgb"] / med["ml2"]) if med["ml2"] and med["xgb"] else (
            math.inf if med["ml2"] and not med["xgb"] else None)
        win = ratio is not None and ratio >= 1.2
        wins += win
        summary["trials_to_xgb_final"][task] = {"target_s": target, "per_seed": per,
                                                "median": med, "xgb_over_ml2": ratio}
        fmt = {t: ("-" if m is None else f"{m:g}") for t, m in med.items()}
        out(f"  {task[:40]:40s} target {target * 1e6:8.1f} us  "
            + "  ".join(f"{t} {fmt[t]:>4s}" for t in tuners)
            + f"  xgb/ml2 {'-' if ratio is None else f'{ratio:.2f}x'}")
    summary["tasks_with_1.2x_fewer_trials"] = wins
    out()
    out("tuning wall time split (sum over tasks and seeds), and ratio of tune time to xgb's:")
    xgb_tune = sum(r["tune_s"] for r in runs if r["tuner"] == "xgb")
    for t in tuners:
        rs = [r for r in runs if r["tuner"] == t]
        sp = {k: sum(r["time_split"][k] for r in rs) for k in ("build_s", "run_s", "model_s",
                                                               "other_s")}
        tune = sum(r["tune_s"] for r in rs)
        summary["time_split"][t] = {**{k: round(v, 1) for k, v in sp.items()},
                                    "tune_s": round(tune, 1),
                                    "tune_vs_xgb": tune / xgb_tune,
                                    "failures": sum(r["failures"] for r in rs),
                                    "trials": sum(r["trials"] for r in rs)}
        out(f"  {t:8s} tune {tune:7.1f} s ({tune / xgb_tune:.2f}x xgb): build {sp['build_s']:.1f}"
            f", run {sp['run_s']:.1f}, cost model {sp['model_s']:.1f}, other {sp['other_s']:.1f}"
            f"; failures {summary['time_split'][t]['failures']}/"
            f"{summary['time_split'][t]['trials']}")

    # ----- transfer: bundle from the other tasks' ml2 traces -> held-out conv ---------------------
    if transfer and len(names) >= 2:
        held = names[-1]             # the last operator: a new task for the bundle
        others = [r["trace"] for r in runs if r["tuner"] == "ml2" and r["task"] != held]
        bundle = work / "bundle"
        train_tvm(others, bundle)
        warm = [run(held, tasks[-1][1], "ml2", s, load_model_dir=bundle) for s in seeds]
        for r in warm:
            r["tuner"] = "ml2-warm"
        cold_final = statistics.median_low(pick(held, "ml2", s)["best_s"] for s in seeds)
        cold_t = [trials_to_reach(pick(held, "ml2", s)["curve"], cold_final) for s in seeds]
        warm_t = [trials_to_reach(r["curve"], cold_final) for r in warm]
        mc, mw = median_trials(cold_t), median_trials(warm_t)
        summary["transfer"] = {"held_out": held, "trained_on_traces": len(others),
                               "cold_final_s": cold_final, "cold_trials": cold_t,
                               "warm_trials": warm_t, "cold_median": mc, "warm_median": mw,
                               "warm_best_vs_cold": geomean(
                                   [w["best_s"] / pick(held, "ml2", s)["best_s"]
                                    for w, s in zip(warm, seeds)])}
        out()
        out(f"transfer to {held}: bundle trained on {len(others)} ml2 traces of the other tasks; "
            f"trials to the cold run's final latency ({cold_final * 1e6:.1f} us): cold "
            f"{cold_t} (median {mc}), warm {warm_t} (median {mw}); warm best / cold best "
            f"{summary['transfer']['warm_best_vs_cold']:.3f}x")
        runs.extend(warm)

    ok_latency = (summary["ratios"][f"ml2_vs_xgb_at_{budget}"] or 9) <= 1.0
    ok_trials = wins > len(names) / 2
    summary["target"] = {"ml2_geomean_best_vs_xgb_le_1": ok_latency,
                         "fewer_trials_on_most_tasks": ok_trials}
    total = time.perf_counter() - t_start
    out()
    out(f"target: ml2 geomean best latency <= xgb's at {budget} trials: "
        f"{'MET' if ok_latency else 'MISSED'}; >= 1.2x fewer trials to xgb's final latency on "
        f"most tasks ({wins}/{len(names)}): {'MET' if ok_trials else 'MISSED'}")
    out(f"total wall {total:.0f} s; load average at end {os.getloadavg()[0]:.1f} (other jobs "
        f"share the 2 cores; all comparisons above are ratios within this run)")
    stem = "tvm_cost_model" + ("_quick" if a.quick else "") + (f"_{a.tag}" if a.tag else "")
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(RESULTS / f"{stem}.png", runs, names, tuners + (["ml2-warm"] if transfer else []),
         budget)
    for r in runs:
        r.pop("trace", None)
    write_result(stem, "\n".join(lines), {
        "benchmark": "tvm_cost_model", "budget": budget, "seeds": seeds, "tasks": names,
        "tuners": tuners, "population": a.population, "summary": summary, "runs": runs,
        "total_wall_s": round(total, 1), "cpu_count": os.cpu_count()})
    return 0 if (ok_latency and ok_trials) or a.quick else 1


if __name__ == "__main__":
    sys.exit(main())
