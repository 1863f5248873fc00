"""`ml2tuner space`, `measure` and `bruteforce`: one workload on the accelerator simulator."""
from __future__ import annotations

from collections import Counter

from ..errors import UserError
from .args import nonneg_float_arg, seed_arg
from .common import accel_args, emit, json_arg


def cmd_space(a):
    from ..accel.measurer import AccelMeasurer
    m = AccelMeasurer(a.accel, a.workload)
    sp = m.space
    d = {"accel": m.hw.name, "workload": m.wl.label, "size": len(sp),
         "knobs": sp.to_dict()["knobs"], "flops": m.flops, "peak_gflops": m.hw.peak_gflops,
         "index_strides": dict(zip(sp.names, sp.strides.tolist())),
         "autotvm_index_strides": dict(zip(sp.names, sp.autotvm_strides().tolist()))}

    def human(d):
        print(f"{d['workload']} on {d['accel']}: {d['size']} configurations, "
              f"{d['flops'] / 1e6:.1f} MFLOP, peak {d['peak_gflops']:.1f} GFLOPS")
        print("  knob         stride (ours: last knob fastest) / AutoTVM (first fastest): values")
        for k, v in d["knobs"].items():
            print(f"  {k:12s} {d['index_strides'][k]:>6} / {d['autotvm_index_strides'][k]:<6} {v}")
    emit(d, a.json, human)


def cmd_measure(a):
    from ..accel.measurer import AccelMeasurer
    m = AccelMeasurer(a.accel, a.workload, noise=a.noise, seed=a.seed)
    cfg = json_arg(a.config, "--config")
    idx = m.space.config_to_index(cfg)
    r = m.measure([idx])[0]
    d = r.to_record()
    d["autotvm_index"] = m.space.autotvm_index(idx)

    def human(d):
        print(f"index {d['index']} (AutoTVM index {d['autotvm_index']})")
        print(f"status {d['status']}" + (f" ({d['error']})" if d["error"] else ""))
        if d["cycles"]:
            print(f"cycles {d['cycles']}  time {d['cost'] * 1e3:.3f} ms  {d['gflops']:.2f} GFLOPS "
                  f"(peak {m.hw.peak_gflops:.1f})")
        for k, v in d["counters"].items():
            print(f"  {k:18s} {v:.0f}")
    emit(d, a.json, human)


def cmd_bruteforce(a):
    from pathlib import Path

    from tqdm import tqdm

    from ..accel.measurer import AccelMeasurer
    from ..data.traces import TraceWriter, finish_trace, make_header
    from ..validate import check_output_file
    out = check_output_file(a.out, "--out", force=a.force)
    if not str(out).endswith((".jsonl", ".jsonl.gz")):
        raise UserError(f"--out {out}: a trace file name ends in .jsonl or .jsonl.gz")
    # records stream into a plain partial file beside --out (which --resume continues); --out
    # itself is replaced only when the trace is complete
    partial = out.with_name(out.name.removesuffix(".gz") + ".partial")
    m = AccelMeasurer(a.accel, a.workload, noise=a.noise, seed=a.seed)
    header = make_header(m.space, exhaustive=True, **m.describe())
    writer = TraceWriter(partial, header, append=a.resume,
                         match=("space", "accel", "workload", "noise", "seed"))
    done = writer.existing.results if writer.existing is not None else []
    if writer.existing is not None and len({r.index for r in done}) != len(done):
        raise UserError(f"{partial} measures a configuration twice; delete it and start again")
    if done:      # the records' clock runs on where the killed run stopped
        m.sim_clock.restore(writer.existing.compiles, done)
    status, kinds, best = Counter(), Counter(), None

    def account(r):
        nonlocal best
        status[r.status.value] += 1
        if not r.valid:
            kinds[r.error.split(":")[0]] += 1
        elif best is None or r.cost < best.cost:
            best = r
    for r in done:
        account(r)
    todo = sorted(set(range(len(m.space))) - {r.index for r in done})
    for i in tqdm(todo, desc=f"{m.wl.label}", unit="cfg", initial=len(done),
                  total=len(m.space), disable=a.quiet or None):
        r = m.measure([i])[0]
        writer.append(r)
        account(r)
    finish_trace(partial, out)
    writer.close()
    n = len(m.space)
    d = {"size": n, "status": dict(status), "invalid_fraction": 1 - status.get("ok", 0) / n,
         "error_kinds": dict(kinds), "resumed": len(done),
         "best_config": best.config if best else None,
         "best_gflops": best.gflops if best else None, "peak_gflops": m.hw.peak_gflops,
         "out": str(Path(out))}

    def human(d):
        print(f"{d['size']} configurations -> {d['out']}"
              + (f" ({d['resumed']} resumed)" if d["resumed"] else ""))
        print(f"  status: {d['status']}  invalid {d['invalid_fraction']:.1%}  {d['error_kinds']}")
        if best:
            print(f"  best {d['best_gflops']:.2f} GFLOPS of {d['peak_gflops']:.1f} peak: "
                  f"{d['best_config']}")
    emit(d, a.json, human)


def register(sub) -> None:
    """Add `space`, `measure` and `bruteforce` to the `ml2tuner` subparsers."""
    p = sub.add_parser("space", help="describe the search space of a workload")
    accel_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_space)

    p = sub.add_parser("measure", help="compile and time one configuration")
    accel_args(p)
    p.add_argument("--config", required=True, help='JSON object, e.g. \'{"tile_h": 4, ...}\'')
    p.add_argument("--noise", type=nonneg_float_arg, default=0.0,
                   help="multiplicative noise sigma")
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_measure)

    p = sub.add_parser("bruteforce", help="measure every configuration into an exhaustive trace")
    accel_args(p)
    p.add_argument("--out", required=True, help="trace file (.jsonl or .jsonl.gz)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its "
                   "OUT.partial file")
    p.add_argument("--noise", type=nonneg_float_arg, default=0.0)
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bruteforce)
