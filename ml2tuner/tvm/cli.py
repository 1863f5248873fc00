"""`ml2tuner tvm-tune`: tune an operator with TVM MetaSchedule on the llvm CPU target.

    ml2tuner tvm-tune --workload matmul:M=128,N=128,K=128 --trials 32 [--seed S] [--trace FILE]
                      [--cost-model ml2|xgb] [--json]

Wired into the main parser by `register(subparsers)` (ml2tuner.cli._EXTRA_COMMANDS). Importing
this module does not import TVM; without TVM the command prints one line saying how to install
it and exits 2.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError

INSTALL_HINT = "pip install -e '.[tvm]'"


def _check_tvm() -> None:
    from ._env import tvm_available
    ok, why = tvm_available()
    if not ok:
        raise UserError(f"TVM is needed for tvm-tune: {why.split(' (')[0]}; install it with "
                        f"`{INSTALL_HINT}` (or `pip install 'ml2tuner[tvm]'`)")


def cmd_tvm_tune(a) -> None:
    from .workloads import parse_spec
    parse_spec(a.workload)                         # bad specs fail before TVM is touched
    if a.trials < 1:
        raise UserError("--trials must be >= 1")
    if a.trials_per_iter < 1:
        raise UserError("--trials-per-iter must be >= 1")
    if a.save_model and a.cost_model != "ml2":
        raise UserError("--save-model needs --cost-model ml2")
    if a.save_model:
        from ..validate import check_bundle_dir
        check_bundle_dir(a.save_model, "--save-model")
    if a.trace:
        from ..validate import check_output_file
        check_output_file(a.trace, "--trace")
    trace = Path(a.trace) if a.trace else None
    if trace is not None and trace.exists() and trace.stat().st_size > 0:
        raise UserError(f"{trace} exists; choose another file (tvm-tune does not resume)")
    _check_tvm()
    from .tune import tvm_tune
    r = tvm_tune(a.workload, a.trials, seed=a.seed, trace_path=trace,
                 use_ml2tuner=a.cost_model == "ml2", num_trials_per_iter=a.trials_per_iter,
                 alpha=a.alpha, population_size=a.population,
                 max_vector_lanes=a.max_vector_lanes, model_dir=a.save_model,
                 verbose=a.verbose)
    d = {k: r[k] for k in ("workload", "tuner", "seed", "best_latency_s", "best_gflops",
                           "trials", "n_ok", "n_compile_error", "n_runtime_error", "n_timeout",
                           "init_s", "tune_s", "wall_s", "best_config", "trace_path", "target")}
    d["cost_model"] = a.cost_model
    d["n_failed"] = r["trials"] - r["n_ok"]
    if a.save_model:
        d["model_dir"] = str(a.save_model)
    if a.json:
        print(json.dumps(d, default=float))
        return
    print(f"{d['workload']}: {d['trials']} candidates measured with MetaSchedule "
          f"({a.cost_model} cost model, seed {d['seed']}) on {d['target']['kind']} "
          f"({d['target'].get('num-cores')} cores)")
    if d["best_latency_s"] is not None:
        print(f"  best latency {d['best_latency_s'] * 1e6:.2f} us  ({d['best_gflops']:.2f} GFLOPS)")
    else:
        print("  no candidate ran: no latency")
    print(f"  failures {d['n_failed']}/{d['trials']} (compile {d['n_compile_error']}, runtime "
          f"{d['n_runtime_error']}, timeout {d['n_timeout']})")
    print(f"  wall {d['wall_s']:.1f} s (TVM start-up {d['init_s']:.1f} s, tuning "
          f"{d['tune_s']:.1f} s)" + (f"; trace {d['trace_path']}" if d["trace_path"] else "")
          + (f"; model {d['model_dir']}" if a.save_model else ""))


def register(sub) -> None:
    """Add `tvm-tune` to the `ml2tuner` subparsers."""
    from ..validate import nonneg_int_arg, positive_int_arg, seed_arg
    p = sub.add_parser("tvm-tune", help="tune an operator with TVM MetaSchedule (llvm CPU; "
                       "needs the tvm extra)")
    p.add_argument("--workload", required=True,
                   help="matmul:M=..,N=..,K=.., batch_matmul:B=..,M=..,N=..,K=.., "
                        "dense:B=..,I=..,O=.. or conv2d:N=..,H=..,W=..,CI=..,CO=..,KH=..,KW=.."
                        "[,stride=..,pad=..] (each may add dtype=..)")
    p.add_argument("--trials", type=positive_int_arg, default=32,
                   help="measurement budget (default 32)")
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--trace", help="JSONL trace: every MetaSchedule measurement is appended")
    p.add_argument("--cost-model", choices=("ml2", "xgb"), default="ml2",
                   help="ml2: ML2Tuner's V/P/A models and selection (default); "
                        "xgb: MetaSchedule's default XGBModel")
    p.add_argument("--trials-per-iter", type=positive_int_arg, default=8,
                   help="candidates measured per batch (N; default 8)")
    p.add_argument("--alpha", type=nonneg_int_arg, default=1,
                   help="ml2: (alpha+1)*N candidates are proposed per batch (default 1)")
    p.add_argument("--population", type=positive_int_arg, default=512,
                   help="evolutionary search population (default 512)")
    p.add_argument("--max-vector-lanes", type=positive_int_arg, default=None,
                   help="make candidates vectorizing wider than this fail to build "
                        "(an accelerator-like limit; default none)")
    p.add_argument("--save-model", help="ml2: save the trained cost model to this directory "
                   "(a model bundle)")
    p.add_argument("--verbose", action="store_true", help="MetaSchedule's own log on stdout")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tvm_tune)
