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
each tuner needs to reach the XGB model's latency at the full budget (median over seeds of XGB's
best, the lower median for an even count; also at half the budget, counting the first half
only, when that is >= 32 trials), tuning wall time split into build, run, cost-model and other
(search) time, and how far ml2 trusted its fixed tile prior, P and A at the end of each run.
Transfer across tasks of the same model: per seed, a bundle trained with `ml2tuner train`'s TVM
path on the ml2 trace of the model's first conv task warm-starts ML2CostModel on its second conv
task
(the last operator when only one conv task runs); trials to reach the cold ml2 run's final
latency, warm vs cold.

Note: MetaSchedule's XGBModel scores candidates at random until it holds 100 samples
(`num_warmup_samples=100`), so within one task's first 100 trials "xgb" is the evolutionary
search with random scores, like "random".

Resumable: every finished run is appended to `benchmarks/results/{stem}.runs.jsonl` (with the
commit it ran on); a restart on the same commit and settings skips the runs already there.
Runs go seed by seed (all tasks and tuners of seed 0 first), and `--max-minutes` stops starting
new runs after that long, so a cut run still holds complete (task, seed) groups; the summary
uses the complete groups only and says which.

Target (checked, exit 1 on a miss): ml2's geometric-mean best latency at the full budget <= xgb's
(ratio <= 1.0) and ml2 reaches xgb's final latency in fewer trials (median over seeds) on most
tasks. The aim, >= 1.2x fewer trials on most tasks, is printed beside it and not checked.

    PYTHONPATH=. python benchmarks/tvm_cost_model.py [--budget 64] [--seeds 0,1,2] [--convs 2]
                                                     [--tuners ml2,xgb] [--max-minutes M] [--quick]
Writes benchmarks/results/tvm_cost_model{_quick}.{txt,json,png} and {stem}.runs.jsonl.
"""
import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import RESULTS, provenance, write_result  # noqa: E402

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


def feature_check(traces_by_task, sizes=(16, 32)):
    """How well P ranks candidates of other runs of the same task, with the tile-derived visible
    features and without them (their columns set to missing: the positional decisions only).
    P is fitted on the first n valid rows of one ml2 trace and scored by Spearman's rank
    correlation of its prediction with the measured latency on every other trace of the task;
    The fixed tile prior (`agg.prior`, no fitting) is scored on the same traces.
    {task: {n: {"tile-derived": mean, "positional": mean, "prior": mean, "pairs": k}}}."""
    import numpy as np
    from scipy.stats import spearmanr

    from ml2tuner.traces import iter_records
    from ml2tuner.tvm.cost_model import make_models
    from ml2tuner.tvm.features import AGGREGATES, MAX_TILES, PER_TILE, PRIOR_COLUMN
    from ml2tuner.tvm.trace_training import visible_from_config
    derived = slice(2, 2 + len(AGGREGATES) + MAX_TILES * len(PER_TILE))
    out = {}
    for task, paths in traces_by_task.items():
        data = []
        for p in paths:
            rows = [(visible_from_config(r.get("config") or {}), float(r["cost"]))
                    for _, r in iter_records(p) if r.get("record") == "measure"
                    and r.get("status") == "ok" and r.get("cost")]
            if rows:
                data.append((np.array([x for x, _ in rows]), np.array([c for _, c in rows])))
        if len(data) < 2:
            continue
        out[task] = {}
        prior = float(np.nanmean([spearmanr(Xt[:, PRIOR_COLUMN], ct).correlation
                                  for Xt, ct in data]))      # no fitting: the same for every n
        for n in sizes:
            res = {"tile-derived": [], "positional": []}
            for i, (X, c) in enumerate(data):
                if len(c) < n:
                    continue
                for name in res:
                    Xtr = X[:n].copy()
                    if name == "positional":
                        Xtr[:, derived] = np.nan
                    m = make_models(seed=0)["P"].fit(Xtr, c[:n] / c[:n].min())
                    for j, (Xt, ct) in enumerate(data):
                        if j != i:
                            Xt = Xt.copy()
                            if name == "positional":
                                Xt[:, derived] = np.nan
                            rho = spearmanr(m.predict_log(Xt), ct).correlation
                            res[name].append(0.0 if not np.isfinite(rho) else float(rho))
            if res["positional"]:
                out[task][n] = {k: float(np.mean(v)) for k, v in res.items()}
                out[task][n]["prior"] = prior
                out[task][n]["pairs"] = len(res["positional"])
    return out


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
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("best latency so far, us (geomean over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=64, help="trials per task (default 64)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--population", type=int, default=64,
                    help="evolutionary search population (default 64: on the conv tasks the "
                         "search, not the builds, dominates the time at 256)")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: budget 8, seeds 0,1, two small operators")
    ap.add_argument("--convs", type=int, default=2,
                    help="conv tasks of the model, largest first (default 2)")
    ap.add_argument("--no-transfer", action="store_true")
    ap.add_argument("--tuners", default=",".join(TUNERS),
                    help=f"comma-separated, of {', '.join(TUNERS + list(VARIANTS))}; "
                         "must include ml2 and xgb")
    ap.add_argument("--operators", default=";".join(OPERATORS), help="';'-separated specs")
    ap.add_argument("--tag", default="", help="suffix of the result files")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="start no new run after this many minutes (finished runs are kept)")
    ap.add_argument("--from-commit", default=None,
                    help="reuse the logged runs of this commit (default: the current one), e.g. "
                         "to redo the summary after a change to this script only")
    ap.add_argument("--work-dir", default=None,
                    help="where the ml2 traces live between restarts (default: a folder in the "
                         "system temp dir named after the result stem)")
    a = ap.parse_args(argv)
    prov = provenance(argv)
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
    stem = "tvm_cost_model" + ("_quick" if a.quick else "") + (f"_{a.tag}" if a.tag else "")
    commit = prov["commit"].replace("+dirty", "")
    work = Path(a.work_dir or Path(tempfile.gettempdir()) / f"ml2tuner-bench-{stem}")
    work.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS / f"{stem}.runs.jsonl"
    RESULTS.mkdir(parents=True, exist_ok=True)
    setting = {"budget": budget, "population": a.population, "commit": a.from_commit or commit}
    done = {}
    if log_path.exists():
        for line in log_path.read_text().splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue           # a line cut by a kill
            if r.get("budget") == budget and r.get("population") == a.population and \
                    str(r.get("commit", "")).startswith(setting["commit"]):
                done[(r["task"], r["tuner"], r["seed"])] = r
    import numpy as np
    lines, runs = [], []
    t_start = time.perf_counter()

    def out(s=""):
        print(s, flush=True)
        lines.append(s)

    def fmt_row(row):
        sp = row["time_split"]
        return (f"{row['task'][:40]:40s} {row['tuner']:10s} {row['seed']:4d} "
                f"{(row['best_s'] or 0) * 1e6:9.1f} {row['failures']:3d}/{row['trials']:<3d} "
                f"{row['tune_s']:7.1f} {sp['build_s']:7.1f} {sp['run_s']:6.1f} "
                f"{sp['model_s']:6.1f} {sp['other_s']:6.1f}  load {row['load']:.1f}"
                + ("  (resumed)" if row.get("resumed") else ""))

    def out_of_time():
        return a.max_minutes is not None and time.perf_counter() - t_start > 60 * a.max_minutes

    def run(name, mod, tuner, seed, label=None, **kw):
        label = label or tuner
        if (name, label, seed) in done:
            row = {**done[(name, label, seed)], "resumed": True}
            out(fmt_row(row))
            return row
        if out_of_time():
            return None
        safe = "".join(c if c.isalnum() else "_" for c in name)
        trace = work / f"{label}-{safe}-{seed}.jsonl" if tuner == "ml2" else None
        if trace is not None and trace.exists():
            trace.unlink()                # a run cut short: start its trace afresh
        kw = {"cost_model": tuner, **VARIANTS.get(tuner, {}), **kw}
        r = tvm_tune(mod, budget, seed=seed, task_name=name,
                     population_size=a.population, min_repeat_ms=50, trace_path=trace, **kw)
        row = {"task": name, "tuner": label, "seed": seed, "best_s": r["best_latency_s"],
               "curve": r["curve"], "failures": r["trials"] - r["n_ok"], "trials": r["trials"],
               "tune_s": r["tune_s"], "time_split": r["time_split"],
               "trace": str(trace) if trace else None, "load": os.getloadavg()[0],
               "trust": r.get("trust"), **setting}
        with log_path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        out(fmt_row(row))
        return row

    out(f"# {len(tasks)} tasks x {len(tuners)} tuners x {len(seeds)} seeds, budget {budget} "
        f"trials per task (8 per batch, population {a.population}); llvm, 2 cores; no build "
        f"limit; load average at start {os.getloadavg()[0]:.1f}"
        + (f"; new runs stop after {a.max_minutes:g} min" if a.max_minutes else ""))
    out(f"{'task':40s} {'tuner':10s} {'seed':>4s} {'best us':>9s} {'fail':>7s} {'tune s':>7s} "
        f"{'build':>7s} {'run':>6s} {'model':>6s} {'other':>6s}")
    # transfer within the model: a bundle from the first conv task's ml2 trace (same seed)
    # warm-starts ml2 on the second conv task (else: the other tasks -> the last operator)
    conv_names = [n for n, _ in convs]
    if len(conv_names) >= 2:
        held, sources = conv_names[1], [conv_names[0]]
    else:
        held, sources = names[-1], names[:-1]
    warm = []
    for seed in seeds:               # seed by seed: a cut run keeps complete seeds
        for name, mod in tasks:
            for tuner in tuners:
                row = run(name, mod, tuner, seed)
                if row is not None:
                    runs.append(row)
        src = [r["trace"] for r in runs if r["tuner"] == "ml2" and r["task"] in sources
               and r["seed"] == seed and r.get("trace") and Path(r["trace"]).exists()]
        if transfer and len(names) >= 2 and src and \
                any(r["task"] == held and r["tuner"] == "ml2" and r["seed"] == seed for r in runs):
            if (held, "ml2-warm", seed) not in done and not out_of_time():
                train_tvm(src, work / f"bundle-{seed}")
            w = run(held, dict(tasks)[held], "ml2", seed, label="ml2-warm",
                    load_model_dir=work / f"bundle-{seed}")
            if w is not None:
                warm.append(w)

    commits = sorted({str(r.get("commit", ""))[:12] for r in runs})
    if commits != [commit[:12]]:
        out(f"(the runs above ran on commit {', '.join(commits)}; this summary on {commit[:12]})")

    # ----- summary over complete (task, seed) groups ----------------------------------------------
    have = {(r["task"], r["tuner"], r["seed"]) for r in runs}
    groups = [(t, s) for t in names for s in seeds if all((t, u, s) in have for u in tuners)]
    gseeds = {t: [s for tt, s in groups if tt == t] for t in names}
    names_done = [t for t in names if gseeds[t]]
    if len(groups) < len(names) * len(seeds):
        out()
        out(f"cut short: {len(groups)} of {len(names) * len(seeds)} (task, seed) groups complete; "
            "the summary uses those: " + "; ".join(f"{t} seeds {gseeds[t]}" for t in names))

    def best_at(row, n):
        return row["curve"][n - 1] if len(row["curve"]) >= n else row["best_s"]

    def pick(task, tuner, seed, rows=runs):
        return next(r for r in rows if r["task"] == task and r["tuner"] == tuner
                    and r["seed"] == seed)

    summary = {"ratios": {}, "trials_to_xgb_final": {}, "time_split": {},
               "groups": [list(g) for g in groups]}
    out()
    out("best latency, geometric mean over tasks and seeds of the paired ratio to xgb:")
    for t in tuners:
        for n in (half, budget):
            g = geomean([best_at(pick(task, t, s), n) / best_at(pick(task, "xgb", s), n)
                         for task, s in groups])
            summary["ratios"][f"{t}_vs_xgb_at_{n}"] = g
        out(f"  {t:8s} at {half} trials {summary['ratios'][f'{t}_vs_xgb_at_{half}'] or 0:.3f}x, at "
            f"{budget} trials {summary['ratios'][f'{t}_vs_xgb_at_{budget}'] or 0:.3f}x")
    per_task = {}
    for task in names_done:
        per_task[task] = geomean([pick(task, "ml2", s)["best_s"] / pick(task, "xgb", s)["best_s"]
                                  for s in gseeds[task]])
    summary["ml2_vs_xgb_per_task"] = per_task
    out("  ml2/xgb per task at the full budget: " + "; ".join(
        f"{t.split('/')[-1][:24]} {v:.3f}x" for t, v in per_task.items()))
    def trials_to_xgb(n):
        """Per task: trials each tuner needs to reach xgb's latency at n trials (median over
        seeds of xgb's best at n), counting the first n trials only."""
        out()
        out(f"trials to reach xgb's latency at {n} trials (median over seeds of xgb's best at "
            f"{n}); median over seeds, '-' = not reached within {n}:")
        wins, aims, ratios, per_task = 0, 0, [], {}
        for task in names_done:
            ss = gseeds[task]
            target = statistics.median_low(best_at(pick(task, "xgb", s), n) for s in ss)
            per = {t: [trials_to_reach(pick(task, t, s)["curve"][:n], target) for s in ss]
                   for t in tuners}
            med = {t: median_trials(v) for t, v in per.items()}
            ratio = (med["xgb"] / med["ml2"]) if med["ml2"] and med["xgb"] else (
                math.inf if med["ml2"] and not med["xgb"] else None)
            wins += ratio is not None and ratio > 1.0
            aims += ratio is not None and ratio >= 1.2
            if ratio is not None and math.isfinite(ratio):
                ratios.append(ratio)
            per_task[task] = {"target_s": target, "per_seed": per, "median": med,
                              "xgb_over_ml2": ratio}
            fmt = {t: ("-" if m is None else f"{m:g}") for t, m in med.items()}
            out(f"  {task[:40]:40s} target {target * 1e6:8.1f} us  "
                + "  ".join(f"{t} {fmt[t]:>4s}" for t in tuners)
                + f"  xgb/ml2 {'-' if ratio is None else f'{ratio:.2f}x'}"
                + "  per seed ml2 " + ",".join("-" if x is None else str(x) for x in per["ml2"])
                + " xgb " + ",".join("-" if x is None else str(x) for x in per["xgb"]))
        return wins, aims, ratios, per_task

    if half >= 32:
        w_half, a_half, r_half, p_half = trials_to_xgb(half)
        summary[f"trials_to_xgb_at_{half}"] = {"per_task": p_half, "tasks_with_fewer": w_half,
                                               "tasks_with_1.2x_fewer": a_half,
                                               "ratio_geomean": geomean(r_half)}
    wins, aims, ratios, summary["trials_to_xgb_final"] = trials_to_xgb(budget)
    summary["tasks_with_fewer_trials"] = wins
    summary["tasks_with_1.2x_fewer_trials"] = aims
    summary["trials_ratio_geomean"] = geomean(ratios)
    trusts = {}
    for task in names_done:
        ts = [r["trust"] for r in runs if r["task"] == task and r["tuner"] == "ml2"
              and r.get("trust") and r["seed"] in gseeds[task]]
        if ts:
            trusts[task] = {k: float(np.mean([t[k] for t in ts])) for k in ts[0]}
    if trusts:
        summary["ml2_trust_at_end"] = trusts
        out()
        out("ml2's trust in each predictor at the end of its runs (prequential Spearman with the "
            "measured speed, shrunk; mean over seeds): prior / P / A")
        for task, t in trusts.items():
            out(f"  {task[:40]:40s} {t['prior']:.2f} / {t['P']:.2f} / {t['A']:.2f}")
    out()
    out("tuning wall time split (sum over the complete groups), and ratio of tune time to xgb's:")
    in_groups = [r for r in runs if (r["task"], r["seed"]) in set(groups)]
    xgb_tune = sum(r["tune_s"] for r in in_groups if r["tuner"] == "xgb") or math.nan
    for t in tuners:
        rs = [r for r in in_groups if r["tuner"] == t]
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

    # ----- transfer ------------------------------------------------------------------------------
    warm = [w for w in warm if (held, w["seed"]) in set(groups)]
    if warm:
        ws = [w["seed"] for w in warm]
        cold_final = statistics.median_low(pick(held, "ml2", s)["best_s"] for s in ws)
        cold_t = [trials_to_reach(pick(held, "ml2", s)["curve"], cold_final) for s in ws]
        warm_t = [trials_to_reach(w["curve"], cold_final) for w in warm]
        mc, mw = median_trials(cold_t), median_trials(warm_t)
        summary["transfer"] = {"held_out": held, "sources": sources, "seeds": ws,
                               "cold_final_s": cold_final, "cold_trials": cold_t,
                               "warm_trials": warm_t, "cold_median": mc, "warm_median": mw,
                               "warm_best_vs_cold": geomean(
                                   [w["best_s"] / pick(held, "ml2", w["seed"])["best_s"]
                                    for w in warm])}
        out()
        out(f"transfer to {held}: per seed, a bundle trained on the ml2 trace of "
            f"{', '.join(sources)} (same seed); trials to the cold run's final latency "
            f"({cold_final * 1e6:.1f} us): cold {cold_t} (median {mc}), warm {warm_t} "
            f"(median {mw}); warm best / cold best "
            f"{summary['transfer']['warm_best_vs_cold']:.3f}x")
        runs.extend(warm)

    fc = feature_check({t: [r["trace"] for r in runs if r["tuner"] == "ml2" and r["task"] == t
                            and r.get("trace") and Path(r["trace"]).exists()] for t in names},
                       sizes=(half // 2, half))
    if fc:
        summary["feature_check"] = fc
        out()
        out("P's rank correlation (Spearman) with the measured latency on the other seeds' ml2 "
            "traces of the task, P fitted on the first n rows of one trace; with the "
            "tile-derived visible features / positional decisions only; and the fixed tile "
            "prior's on every trace (no fitting):")
        for t, per in fc.items():
            out(f"  {t[:40]:40s} " + "; ".join(
                f"n={n}: {v['tile-derived']:.3f} / {v['positional']:.3f}" for n, v in per.items())
                + f"; prior {next(iter(per.values()))['prior']:.3f}")

    ok_latency = (summary["ratios"].get(f"ml2_vs_xgb_at_{budget}") or 9) <= 1.0
    ok_trials = wins > len(names_done) / 2
    ok_aim = aims > len(names_done) / 2
    summary["target"] = {"ml2_geomean_best_vs_xgb_le_1": ok_latency,
                         "fewer_trials_on_most_tasks": ok_trials,
                         "aim_1.2x_fewer_trials_on_most_tasks": ok_aim}
    total = time.perf_counter() - t_start
    out()
    out(f"target: ml2 geomean best latency <= xgb's at {budget} trials: "
        f"{'MET' if ok_latency else 'MISSED'}; fewer trials to xgb's final latency on most tasks "
        f"({wins}/{len(names_done)}): {'MET' if ok_trials else 'MISSED'}; aim, >= 1.2x fewer "
        f"trials on most tasks ({aims}/{len(names_done)}): {'hit' if ok_aim else 'missed'}")
    out(f"total wall {total:.0f} s this invocation; load average at end {os.getloadavg()[0]:.1f} "
        "(other jobs share the 2 cores; all comparisons above are ratios of runs done back to "
        "back)")
    if names_done:
        plot(RESULTS / f"{stem}.png", runs, names_done,
             tuners + (["ml2-warm"] if "transfer" in summary else []), budget)
    for r in runs:
        r.pop("trace", None)
    write_result(stem, "\n".join(lines), {
        "benchmark": "tvm_cost_model", "budget": budget, "seeds": seeds, "tasks": names,
        "tuners": tuners, "population": a.population, "summary": summary, "runs": runs,
        "max_minutes": a.max_minutes, "total_wall_s": round(total, 1),
        "cpu_count": os.cpu_count()}, prov)
    return 0 if (ok_latency and ok_trials) or a.quick else 1


if __name__ == "__main__":
    sys.exit(main())
