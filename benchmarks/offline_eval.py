"""Offline surrogates on the shipped exhaustive traces: leave-one-layer-out and
leave-one-accelerator-out (V's ROC-AUC, invalid caught / valid dropped; P's and A's RMSE and
Kendall's tau; RMSE(A)/RMSE(P)).

Target: RMSE(A)/RMSE(P) <= 0.919 (the ML2Tuner paper's figure) on leave-one-layer-out, and V's
AUC >= 0.95. Writes benchmarks/results/offline_eval_PROTOCOL.{txt,json}; exits 1 on a miss.
    python benchmarks/offline_eval.py
"""
import sys

from _data import ROOT, provenance, write_result
from ml2tuner.offline import leave_one_out


def main():
    prov = provenance()   # before the first result file makes the tree look dirty
    traces = sorted(str(p) for p in (ROOT / "traces").glob("vta-*/*.jsonl.gz"))
    ok = True
    for proto, by in (("leave-one-layer-out", "layer"), ("leave-one-accel-out", "accel")):
        d = leave_one_out(traces, by=by)
        m = d["mean"]
        ratio, auc = m["rmse_ratio_a_p"], m["v"]["auc"]
        lines = [f"{proto}: {len(traces)} traces, {len(d['folds'])} folds",
                 f"V auc {auc:.3f} invalid caught {m['v']['invalid_caught']:.3f} "
                 f"valid dropped {m['v']['valid_dropped']:.3f}",
                 f"P rmse {m['p']['rmse']:.3f} tau {m['p']['kendall_tau']:.3f}",
                 f"A rmse {m['a']['rmse']:.3f} tau {m['a']['kendall_tau']:.3f}",
                 f"RMSE(A)/RMSE(P) {ratio:.3f}"]
        if by == "layer":
            hit = ratio <= 0.919 and auc >= 0.95
            ok &= hit
            lines.append(f"target RMSE(A)/RMSE(P) <= 0.919 and V auc >= 0.95: "
                         f"{'met' if hit else 'MISSED'}")
        print("\n".join(lines), flush=True)
        write_result(f"offline_eval_{proto}", "\n".join(lines), d, prov)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
