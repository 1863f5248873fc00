"""The `ml2tuner` command. Bad input prints one line naming the problem and exits with status 2."""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from .errors import UserError


def _json_arg(text: str, what: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{what} is not valid JSON: {e.msg} (at character {e.pos})") from None


def _print(obj, as_json: bool, human):
    if as_json:
        print(json.dumps(obj, indent=None, default=float))
    else:
        human(obj)


# ----- commands -----------------------------------------------------------------------------------
def cmd_space(a):
    from .accel.measurer import AccelMeasurer
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
    _print(d, a.json, human)


def cmd_measure(a):
    from .accel.measurer import AccelMeasurer
    m = AccelMeasurer(a.accel, a.workload, noise=a.noise, seed=a.seed)
    cfg = _json_arg(a.config, "--config")
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
    _print(d, a.json, human)


def cmd_bruteforce(a):
    from tqdm import tqdm

    from .accel.measurer import AccelMeasurer
    from .traces import make_header, write_trace
    m = AccelMeasurer(a.accel, a.workload, noise=a.noise, seed=a.seed)
    results = [m.measure([i])[0] for i in tqdm(range(len(m.space)), desc=f"{m.wl.label}",
                                                 unit="cfg", disable=a.quiet or None)]
    write_trace(a.out, make_header(m.space, exhaustive=True, **m.describe()), results)
    status = Counter(r.status.value for r in results)
    kinds = Counter(r.error.split(":")[0] for r in results if not r.valid)
    best = min((r for r in results if r.valid), key=lambda r: r.cost, default=None)
    d = {"size": len(results), "status": dict(status), "invalid_fraction":
         1 - status.get("ok", 0) / len(results), "error_kinds": dict(kinds),
         "best_config": best.config if best else None,
         "best_gflops": best.gflops if best else None, "peak_gflops": m.hw.peak_gflops,
         "out": str(a.out)}

    def human(d):
        print(f"{d['size']} configurations -> {d['out']}")
        print(f"  status: {d['status']}  invalid {d['invalid_fraction']:.1%}  {d['error_kinds']}")
        if best:
            print(f"  best {d['best_gflops']:.2f} GFLOPS of {d['peak_gflops']:.1f} peak: "
                  f"{d['best_config']}")
    _print(d, a.json, human)


def _parse_hp(items) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--hp expects NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def hp_from_args(tuner: str, items, hp_file=None) -> dict:
    """Hyperparameters from `--hp-file FILE` (a settings file of `ml2tuner hpo`), overridden
    by `--hp NAME=VALUE`."""
    from .hparams import load_settings
    from .tuners import TUNERS
    out = load_settings(hp_file, tuner, TUNERS[tuner].HYPERPARAMETERS) if hp_file else {}
    out.update(_parse_hp(items))
    return out


def cmd_tune(a):
    from pathlib import Path

    from .accel.measurer import AccelMeasurer
    from .traces import TraceWriter, make_header, read_trace
    from .tuners import make_tuner
    from .tuners.callbacks import LogToFile, ProgressBar, plot_convergence
    if a.trials < 1:
        raise UserError("--trials must be >= 1")
    m = AccelMeasurer(a.accel, a.workload, noise=a.noise, seed=a.seed)
    tuner = make_tuner(a.tuner, m.space, seed=a.seed, **hp_from_args(a.tuner, a.hp, a.hp_file))
    n_init = tuner.hp.get("n_init", 0)
    if a.init == "gc":
        if a.tuner != "ml2tuner":
            raise UserError("--init gc needs --tuner ml2tuner")
        if not a.source_traces:
            raise UserError("--init gc needs --source-traces FILE...")
    if getattr(a, "model", None):
        if a.tuner != "ml2tuner":
            raise UserError("--model needs --tuner ml2tuner")
        from .warmstart import warm_start
        warm_start(tuner, a.model, m)
    if a.init == "gc":
        from .transfer import gc_initial_design
        from .warmstart import set_initial_design
        set_initial_design(tuner, gc_initial_design(m.space, m, a.source_traces, max(n_init, 1),
                                                    seed=a.seed, validity=a.model))
    header = make_header(m.space, tuner=a.tuner, hparams=tuner.hp, **m.describe())
    resume = []
    trace = Path(a.trace) if a.trace else None
    if trace and trace.exists() and trace.stat().st_size > 0:
        if not a.resume:
            raise UserError(f"{trace} exists; pass --resume to continue it or choose another file")
        old = read_trace(trace)
        for w in old.warnings:
            print(f"warning: {w}", file=sys.stderr)
        if old.header["space"] != m.space.to_dict():
            raise UserError(f"{trace} holds a trace of another space")
        resume = old.results
    callbacks = []
    if trace:
        callbacks.append(LogToFile(TraceWriter(trace, header)))
    bar = ProgressBar(a.trials, initial=min(len(resume), a.trials),
                      desc=f"{a.tuner} {m.wl.label}", disable=True if a.quiet else None)
    bar.seed_with(resume)
    callbacks.append(bar)
    try:
        res = tuner.tune(a.trials, m, callbacks=callbacks, early_stopping=a.early_stopping,
                         resume=resume)
    finally:
        bar.close()
    best = res.best
    d = {"tuner": a.tuner, "accel": m.hw.name, "workload": m.wl.label,
         "best_config": best.config if best else None, "best_cycles": best.cycles if best else None,
         "best_gflops": best.gflops if best else None, "peak_gflops": m.hw.peak_gflops,
         "n_measured": res.n_measured, "n_invalid_measured": res.n_invalid,
         "n_resumed": res.resumed, "stopped_early": res.stopped_early,
         "decision_seconds": round(res.decision_seconds, 3),
         "simulated_profile_seconds": round(res.profile_seconds, 1),
         "trace": str(trace) if trace else None}
    if hasattr(tuner, "stats"):
        d["tuner_stats"] = tuner.stats
    plot = a.plot or (str(trace.with_suffix(".png")) if trace else None)
    if plot and res.history:
        plot_convergence(res.history, plot, title=f"{a.tuner} on {m.wl.label} ({m.hw.name})",
                         peak=m.hw.peak_gflops)
        d["plot"] = plot

    def human(d):
        print(f"{d['tuner']} on {d['workload']} ({d['accel']}): {d['n_measured']} measured, "
              f"{d['n_invalid_measured']} invalid" + (f", {d['n_resumed']} resumed"
                                                      if d["n_resumed"] else ""))
        if best:
            print(f"  best {d['best_gflops']:.2f} GFLOPS ({d['best_gflops'] / d['peak_gflops']:.1%}"
                  f" of peak), {d['best_cycles']} cycles: {d['best_config']}")
        print(f"  tuner decisions {d['decision_seconds']:.2f} s; profiling it stands for "
              f"{d['simulated_profile_seconds']:.0f} s" + (f"; plot {d['plot']}" if plot else ""))
    _print(d, a.json, human)


# ----- parser ---------------------------------------------------------------------------------------
def _accel_args(p):
    p.add_argument("--accel", default="vta-1x16",
                   help="accelerator name in accel/ or path to a JSON file (default vta-1x16)")
    p.add_argument("--workload", default="resnet18.C2",
                   help="resnet18.C2..C11, conv2d:H=..,W=..,IC=..,OC=..,K=..,pad=..,stride=.. "
                        "or dense:N=..,IC=..,OC=.. (default resnet18.C2)")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) with exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="ml2tuner", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("space", help="describe the search space of a workload")
    _accel_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_space)

    p = sub.add_parser("measure", help="compile and time one configuration")
    _accel_args(p)
    p.add_argument("--config", required=True, help='JSON object, e.g. \'{"tile_h": 4, ...}\'')
    p.add_argument("--noise", type=float, default=0.0, help="multiplicative noise sigma")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_measure)

    p = sub.add_parser("bruteforce", help="measure every configuration into an exhaustive trace")
    _accel_args(p)
    p.add_argument("--out", required=True, help="trace file (.jsonl or .jsonl.gz)")
    p.add_argument("--noise", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bruteforce)

    from .tuners import TUNERS
    p = sub.add_parser("tune", help="tune a workload on the accelerator simulator")
    _accel_args(p)
    p.add_argument("--tuner", default="ml2tuner", choices=sorted(TUNERS))
    p.add_argument("--trials", type=int, default=200, help="measurement budget (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--trace", help="JSONL trace: every measurement is appended and flushed")
    p.add_argument("--resume", action="store_true", help="continue the --trace file without "
                   "re-measuring what it holds")
    p.add_argument("--hp", nargs="*", metavar="NAME=VALUE", help="tuner hyperparameters")
    p.add_argument("--hp-file", metavar="FILE", help="settings file written by `ml2tuner hpo` "
                   "(--hp overrides it)")
    p.add_argument("--model", help="start ML2Tuner from a trained model bundle directory")
    p.add_argument("--init", choices=("random", "gc"), default="random",
                   help="initial design: random, or the Gaussian-copula prior of --source-traces")
    p.add_argument("--source-traces", nargs="*", help="traces of earlier tasks for --init gc")
    p.add_argument("--noise", type=float, default=0.0, help="multiplicative noise sigma")
    p.add_argument("--early-stopping", type=int, default=None,
                   help="stop after this many trials without improvement")
    p.add_argument("--plot", help="convergence plot PNG (default: next to the trace)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tune)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return ap


_EXTRA_COMMANDS: list = []   # other modules append a function(subparsers) here
from . import offline as _offline, transfer as _transfer  # noqa: E402
from .hpo import cli as _hpo_cli  # noqa: E402
from .tvm import cli as _tvm_cli  # noqa: E402
_EXTRA_COMMANDS += [_offline.register, _transfer.register, _hpo_cli.register, _tvm_cli.register]


def main(argv=None) -> int:
    ap = build_parser()
    a = ap.parse_args(argv)
    try:
        a.func(a)
    except UserError as e:
        print(f"ml2tuner {a.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ml2tuner {a.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
