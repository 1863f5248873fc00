"""TVM MetaSchedule integration: workloads, models, measure callbacks, features, cost model.

Importing this package does not import TVM; the names below are loaded on first use (and then
need TVM). Use `require_tvm()` for a clear error when TVM is missing or pinned to a broken
`apache-tvm-ffi`.

For your own MetaSchedule scripts::

    from ml2tuner.tvm import ML2CostModel, callbacks, make_builder
    ms.tune_tir(mod, target, work_dir, max_trials_global=64, builder=make_builder(),
                cost_model=ML2CostModel(), measure_callbacks=callbacks("trace.jsonl"))

Whole Relax models: `tune_model(build_model("resnet"), trials=64, work_dir="tuned")`.
"""
from __future__ import annotations

from importlib import import_module

from ._env import TVMUnavailable, require_tvm, tvm_available

_LAZY = {
    "ML2CostModel": "cost_model", "ML2SearchStrategy": "search", "TraceCallback": "callback",
    "UpdateCostModelAll": "callback", "callbacks": "callback", "trace_header": "callback",
    "make_builder": "build", "BuildConstraints": "build", "tvm_tune": "tune",
    "tune_model": "relax_tune", "build_model": "models", "MODELS": "models",
}

__all__ = ["TVMUnavailable", "require_tvm", "tvm_available", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
