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
    d = {"accel": m.hw.name, "workload": m.wl.label, "size": len(m.space),
         "knobs": m.space.to_dict()["knobs"], "flops": m.flops, "peak_gflops": m.hw.peak_gflops}

    def human(d):
        print(f"{d['workload']} on {d['accel']}: {d['size']} configurations, "
              f"{d['flops'] / 1e6:.1f} MFLOP, peak {d['peak_gflops']:.1f} GFLOPS")
        for k, v in d["knobs"].items():
            print(f"  {k:12s} {v}")
    _print(d, a.json, human)


def cmd_measure(a):
    from .accel.measurer import AccelMeasurer
    m = AccelMeasurer(a.accel, a.workload, noise=a.noise, seed=a.seed)
    cfg = _json_arg(a.config, "--config")
    idx = m.space.config_to_index(cfg)
    r = m.measure([idx])[0]
    d = r.to_record()

    def human(d):
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


# ----- parser ---------------------------------------------------------------------------------------
def _accel_args(p):
    p.add_argument("--accel", default="vta-1x16",
                   help="accelerator name in accel/ or path to a JSON file (default vta-1x16)")
    p.add_argument("--workload", default="resnet18.C2",
                   help="resnet18.C2..C11, conv2d:H=..,W=..,IC=..,OC=..,K=..,pad=..,stride=.. "
                        "or dense:N=..,IC=..,OC=.. (default resnet18.C2)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="ml2tuner", description=__doc__.splitlines()[0])
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

    for register in _EXTRA_COMMANDS:
        register(sub)
    return ap


_EXTRA_COMMANDS: list = []   # other modules append a function(subparsers) here


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
