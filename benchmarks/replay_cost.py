"""Replay cost: the wall time of a replayed 200-trial ML2Tuner run against the simulated
profiling time it stands for (issue 4; the paper reports two orders of magnitude, we aim for
>= 1000x).

Two ratios per space: end-to-end (simulated profiling seconds / wall seconds of the whole
replayed run, the tuner's own decisions included) and replay-only (simulated profiling seconds /
wall seconds spent inside the ReplayMeasurer). The gate (exit 1 when below --target) is the
end-to-end ratio summed over all spaces. Data loading is reported apart (done once per space).
    python benchmarks/replay_cost.py [--trials 200] [--target 1000] [--seed 0]
Writes benchmarks/results/replay_cost.{txt,json}.
"""
import argparse
import json
import sys
import time

from ml2tuner.kt_cache import load_exhaustive
from ml2tuner.replay import ReplayMeasurer
from ml2tuner.tuners import make_tuner

from _data import GPU, RESULTS, ROOT, SHARED


def spaces():
    out = sorted((ROOT / "traces" / "vta-zcu102").glob("resnet18.C*.jsonl.gz"),
                 key=lambda p: int(p.name.split(".")[1][1:]))
    out += [SHARED / f"{g}.json.gz" for g in GPU if (SHARED / f"{g}.json.gz").exists()]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--target", type=float, default=1000.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    lines, rows = [], []

    def out(s=""):
        print(s, flush=True)
        lines.append(s)
    out(f"{'space':38s} {'load s':>7s} {'run s':>7s} {'tuner s':>8s} {'replay s':>9s} "
        f"{'simulated s':>11s} {'end-to-end':>10s} {'replay-only':>11s}")
    for p in spaces():
        t0 = time.perf_counter()
        data = load_exhaustive(p)
        load = time.perf_counter() - t0
        m = ReplayMeasurer(data)
        tuner = make_tuner("ml2tuner", data.space, seed=a.seed)
        t0 = time.perf_counter()
        res = tuner.tune(a.trials, m)
        wall = time.perf_counter() - t0
        r = {"space": p.name, "load_seconds": load, "wall_seconds": wall,
             "tuner_seconds": res.decision_seconds, "replay_seconds": res.measure_seconds,
             "simulated_seconds": m.clock, "trials": res.n_measured,
             "end_to_end_ratio": m.clock / wall,
             "replay_only_ratio": m.clock / max(res.measure_seconds, 1e-9)}
        rows.append(r)
        out(f"{p.name:38s} {load:7.3f} {wall:7.2f} {r['tuner_seconds']:8.2f} "
            f"{r['replay_seconds']:9.4f} {m.clock:11.0f} {r['end_to_end_ratio']:9.0f}x "
            f"{r['replay_only_ratio']:10.0f}x")
    sim = sum(r["simulated_seconds"] for r in rows)
    wall = sum(r["wall_seconds"] for r in rows)
    rep = sum(r["replay_seconds"] for r in rows)
    tun = sum(r["tuner_seconds"] for r in rows)
    summary = {"trials": a.trials, "spaces": len(rows), "simulated_seconds": sim,
               "wall_seconds": wall, "tuner_seconds": tun, "replay_seconds": rep,
               "end_to_end_ratio": sim / wall, "replay_only_ratio": sim / rep,
               "target": a.target, "meets_target": sim / wall >= a.target, "rows": rows}
    out(f"total: {sim:.0f} simulated profiling seconds replayed in {wall:.1f} s wall "
        f"({tun:.1f} s ML2Tuner's own decisions, {rep:.3f} s in the replay measurer)")
    out(f"end-to-end {sim / wall:.0f}x, replay-only {sim / rep:.0f}x; target {a.target:.0f}x "
        f"end-to-end: {'met' if summary['meets_target'] else 'NOT met'}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "replay_cost.txt").write_text("\n".join(lines) + "\n")
    (RESULTS / "replay_cost.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if summary["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
