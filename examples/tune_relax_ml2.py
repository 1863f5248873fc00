"""Tune a Relax model with stock `ms.relax_integration.tune_relax` and ML2Tuner's cost model.

    PYTHONPATH=. python examples/tune_relax_ml2.py [--trials 24] [--work-dir relax-work]

The one-call alternative is `ml2tuner tvm-tune --model mlp --work-dir DIR` or
`ml2tuner.tvm.tune_model(...)`, which also times the untuned and tuned model. Written out here:

1. build the model with `tvm.relax.frontend.nn` and bind its weights;
2. run the fusion passes compile_relax runs (LegalizeOps ... FuseTIR): `tune_relax` extracts
   tasks from fused TIR kernels only, and finds none in an unprepared module;
3. tune with ML2CostModel, ML2SearchStrategy (ML2Tuner's (alpha+1)N -> V -> A selection),
   make_builder() and callbacks();
4. compile the *original* module with the database (`compile_relax` prepares it itself) and run.
"""
import argparse

import numpy as np
import tvm
from tvm import relax
from tvm.s_tir import meta_schedule as ms

from ml2tuner.tvm import ML2CostModel, ML2SearchStrategy, build_model, callbacks, make_builder
from ml2tuner.tvm.relax_tune import prepare


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--work-dir", default="relax-work")
    ap.add_argument("--model", default="mlp")
    a = ap.parse_args(argv)
    model = build_model(a.model)                        # Relax IRModule, weights bound
    target = tvm.target.Target({"kind": "llvm", "num-cores": 2})
    cost_model = ML2CostModel(seed=0)
    db = ms.relax_integration.tune_relax(
        prepare(model.mod, target), params={}, target=target, work_dir=a.work_dir,
        max_trials_global=a.trials, num_trials_per_iter=8, builder=make_builder(),
        cost_model=cost_model, measure_callbacks=callbacks(f"{a.work_dir}/trace.jsonl"),
        strategy=ML2SearchStrategy(cost_model), seed=0)
    with tvm.transform.PassContext(opt_level=3):
        ex = ms.relax_integration.compile_relax(db, model.mod, target, params=None)
    vm = relax.VirtualMachine(ex, tvm.cpu())
    x = tvm.runtime.tensor(model.random_input(), tvm.cpu())
    y = vm["main"](x).numpy()
    ms_per_run = np.median(vm.time_evaluator("main", tvm.cpu(), number=10, repeat=3)(x).results)
    print(f"{len(db.get_all_tuning_records())} tuning records in {a.work_dir}; output "
          f"{y.shape}, {ms_per_run * 1e3:.3f} ms per run")
    return {"database": db, "output": y}


if __name__ == "__main__":
    main()
