"""The `ml2tuner` command. Bad input prints one line naming the problem and exits with status 2."""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from .errors import UserError
from .validate import nonneg_float_arg, positive_int_arg, seed_arg


def _json_arg(text: str, what: str):
    from .validate import loads_strict
    try:
        return loads_strict(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{what} is not valid JSON: {e.msg} (at character {e.pos})") from None
    except (ValueError, RecursionError) as e:
        raise UserError(f"{what} is not valid JSON: {e}") from None


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
    from pathlib import Path

    from tqdm import tqdm

    from .accel.measurer import AccelMeasurer
    from .traces import TraceWriter, finish_trace, make_header
    from .validate import check_output_file
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


def _plot_suffixes() -> set:
    from matplotlib.backend_bases import FigureCanvasBase
    return {f".{k}" for k in FigureCanvasBase.get_supported_filetypes()}


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
    from .traces import TraceWriter, make_header
    from .tuners import make_tuner
    from .tuners.callbacks import LogToFile, ProgressBar, plot_convergence
    from .validate import check_output_file
    if a.trials < 1:
        raise UserError("--trials must be >= 1")
    if a.resume and not a.trace:
        raise UserError("--resume needs --trace FILE (the trace to continue)")
    if a.source_traces and a.init != "gc":
        raise UserError("--source-traces is only used by --init gc")
    if a.init == "gc":
        if a.tuner != "ml2tuner":
            raise UserError("--init gc needs --tuner ml2tuner")
        if not a.source_traces:
            raise UserError("--init gc needs --source-traces FILE...")
    if getattr(a, "model", None) and a.tuner != "ml2tuner":
        raise UserError("--model needs --tuner ml2tuner")
    trace = Path(a.trace) if a.trace else None
    if trace is not None:
        check_output_file(trace, "--trace")
    plot = a.plot or (str(trace.with_suffix(".png")) if trace else None)
    if plot:
        check_output_file(plot, "--plot", suffixes=_plot_suffixes())
    m = AccelMeasurer(a.accel, a.workload, noise=a.noise, seed=a.seed)
    tuner = make_tuner(a.tuner, m.space, seed=a.seed, **hp_from_args(a.tuner, a.hp, a.hp_file))
    n_init = tuner.hp.get("n_init", 0)
    if getattr(a, "model", None):
        from .warmstart import warm_start
        warm_start(tuner, a.model, m)
    if a.init == "gc":
        from .transfer import gc_initial_design
        from .warmstart import set_initial_design
        set_initial_design(tuner, gc_initial_design(m.space, m, a.source_traces, max(n_init, 1),
                                                    seed=a.seed, validity=a.model))
    header = make_header(m.space, tuner=a.tuner, hparams=tuner.hp, **m.describe())
    resume, writer = [], None
    if trace:
        # locks the trace; a resumed one must be of this very run: space, accelerator (all
        # its fields), workload and noise, each record a member of the space
        writer = TraceWriter(trace, header, append=a.resume,
                             match=("space", "accel", "workload", "noise"))
        if writer.existing is not None:
            for w in writer.existing.warnings:
                print(f"warning: {w}", file=sys.stderr)
            resume = writer.existing.results
            if len({r.index for r in resume}) != len(resume):
                writer.close()
                raise UserError(f"{trace} measures a configuration twice; it was not written "
                                "by one tuning run and cannot be resumed")
            m.sim_clock.restore(writer.existing.compiles, resume)
        m.sim_clock.listeners.append(writer.append_compile)
    callbacks = []
    if writer:
        callbacks.append(LogToFile(writer))
    bar = ProgressBar(a.trials, initial=min(len(resume), a.trials),
                      desc=f"{a.tuner} {m.wl.label}", disable=True if a.quiet else None)
    bar.seed_with(resume)
    callbacks.append(bar)
    try:
        res = tuner.tune(a.trials, m, callbacks=callbacks, early_stopping=a.early_stopping,
                         resume=resume)
    finally:
        bar.close()
        if writer:
            writer.close()
    best = res.best
    d = {"tuner": a.tuner, "accel": m.hw.name, "workload": m.wl.label,
         "best_config": best.config if best else None, "best_cycles": best.cycles if best else None,
         "best_gflops": best.gflops if best else None, "peak_gflops": m.hw.peak_gflops,
         "n_measured": res.n_measured, "n_invalid_measured": res.n_invalid,
         "n_resumed": res.resumed, "stopped_early": res.stopped_early,
         "decision_seconds": round(res.decision_seconds, 3),
         "simulated_profile_seconds": round(res.profile_seconds, 1),
         "simulated_seconds": round(res.simulated_seconds, 3),
         "n_compiled": res.clock["n_compiled"],
         "trace": str(trace) if trace else None}
    if hasattr(tuner, "stats"):
        d["tuner_stats"] = tuner.stats
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
        print(f"  tuner decisions {d['decision_seconds']:.2f} s; compiling ({d['n_compiled']} "
              f"configurations) and profiling stand for {d['simulated_seconds']:.0f} s"
              + (f"; plot {d['plot']}" if plot else ""))
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
    p.add_argument("--noise", type=nonneg_float_arg, default=0.0,
                   help="multiplicative noise sigma")
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_measure)

    p = sub.add_parser("bruteforce", help="measure every configuration into an exhaustive trace")
    _accel_args(p)
    p.add_argument("--out", required=True, help="trace file (.jsonl or .jsonl.gz)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its "
                   "OUT.partial file")
    p.add_argument("--noise", type=nonneg_float_arg, default=0.0)
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bruteforce)

    from .tuners import TUNERS
    p = sub.add_parser("tune", help="tune a workload on the accelerator simulator")
    _accel_args(p)
    p.add_argument("--tuner", default="ml2tuner", choices=sorted(TUNERS))
    p.add_argument("--trials", type=positive_int_arg, default=200,
                   help="measurement budget (default 200)")
    p.add_argument("--seed", type=seed_arg, default=0)
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
    p.add_argument("--noise", type=nonneg_float_arg, default=0.0,
                   help="multiplicative noise sigma")
    p.add_argument("--early-stopping", type=positive_int_arg, default=None,
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
    try:
        a = ap.parse_args(argv)
    except SystemExit as e:         # a usage error (already printed on one line) or --help
        return e.code if isinstance(e.code, int) else 2
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
