"""Compile + simulate every configuration of ResNet-18 C2..C11 on one accelerator.

Target: all ten layers in under 120 s on a 2-core machine. Prints configs/second and per-layer
invalid fractions and best GFLOPS, writes benchmarks/results/accel_speed_ACCEL.{txt,json} with
the command and commit; exits 1 when over the limit.
    python benchmarks/accel_speed.py [--accel vta-1x16] [--limit 120]
"""
import argparse
import json
import sys
import time
from collections import Counter

from _data import write_result
from ml2tuner.accel.measurer import AccelMeasurer
from ml2tuner.accel.workloads import resnet18_layers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--accel", default="vta-1x16")
    ap.add_argument("--limit", type=float, default=120.0)
    a = ap.parse_args()
    t0 = time.perf_counter()
    total, layers, lines = 0, {}, []
    for layer in resnet18_layers():
        m = AccelMeasurer(a.accel, layer)
        res = m.measure(range(len(m.space)))
        st = Counter(r.status.value for r in res)
        best = max((r.gflops for r in res if r.valid), default=0.0)
        layers[layer] = {"size": len(res), "invalid_fraction": round(1 - st["ok"] / len(res), 4),
                         "best_gflops": round(best, 2),
                         "best_of_peak": round(best / m.hw.peak_gflops, 4)}
        total += len(res)
        lines.append(f"{layer:14s} {len(res):5d} configs  invalid "
                     f"{layers[layer]['invalid_fraction']:6.1%}  best {best:6.2f} GFLOPS "
                     f"({best / m.hw.peak_gflops:5.1%} of peak)")
        print(lines[-1], flush=True)
    dt = time.perf_counter() - t0
    out = {"accel": a.accel, "configs": total, "seconds": round(dt, 2),
           "configs_per_second": round(total / dt, 1), "limit_seconds": a.limit, "layers": layers}
    ok = dt < a.limit
    lines.append(f"{total} configs in {dt:.2f} s = {total / dt:.0f} configs/s "
                 f"(limit {a.limit:.0f} s: {'met' if ok else 'MISSED'})")
    print(lines[-1])
    write_result(f"accel_speed_{a.accel}", "\n".join(lines), out)
    print(json.dumps(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
