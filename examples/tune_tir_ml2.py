"""Tune a TensorIR function with stock `ms.tune_tir` and ML2Tuner's cost model.

    PYTHONPATH=. python examples/tune_tir_ml2.py [--trials 16] [--trace matmul.jsonl]

What a MetaSchedule script needs from ml2tuner:

* `cost_model=ML2CostModel()`: Models V, P and A as a MetaSchedule cost model;
* `measure_callbacks=callbacks(trace)`: MetaSchedule's AddToDatabase and RemoveBuildArtifact,
  a cost-model update that keeps failed builds (TVM's default drops them) and a trace
  recorder that writes its own header. Train a bundle from the trace with
  `ml2tuner train --traces matmul.jsonl --out bundle` and warm-start a later run with
  `ML2CostModel(model_dir="bundle")`;
* `builder=make_builder()`: MetaSchedule's default LocalBuilder imports
  tvm.s_tir.tensor_intrin in every fresh worker inside its 30 s timeout, so on a slow or busy
  machine every build times out (ML2CostModel then warns and skips the batch).
"""
import argparse

import tvm
from tvm import te
from tvm.s_tir import meta_schedule as ms

from ml2tuner.tvm import ML2CostModel, callbacks, make_builder


def matmul(n=64):
    A = te.placeholder((n, n), "float32", name="A")
    B = te.placeholder((n, n), "float32", name="B")
    k = te.reduce_axis((0, n), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    return tvm.IRModule({"main": te.create_prim_func([A, B, C])})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--trace", default="matmul.jsonl")
    ap.add_argument("--work-dir", default="ms-work")
    a = ap.parse_args(argv)
    mod = matmul()
    target = tvm.target.Target({"kind": "llvm", "num-cores": 2})
    cbs = callbacks(a.trace)
    db = ms.tune_tir(mod, target, a.work_dir, max_trials_global=a.trials, num_trials_per_iter=8,
                     builder=make_builder(), cost_model=ML2CostModel(seed=0),
                     measure_callbacks=cbs, database="memory", seed=0)
    best = min((r.cost for r in cbs[-1].results if r.valid), default=None)
    sch = ms.tir_integration.compile_tir(db, mod, target)
    print(f"{len(cbs[-1].results)} candidates measured, best "
          f"{best * 1e6:.1f} us; trace {a.trace}" if best else "no candidate ran")
    return {"best_s": best, "schedule": sch, "recorder": cbs[-1]}


if __name__ == "__main__":
    main()
