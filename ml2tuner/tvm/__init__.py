"""TVM MetaSchedule integration: workloads, measure callback, features, cost model, runner.

Importing this package does not import TVM; the submodules that need it do (`workloads` only
inside `build_module`). Use `require_tvm()` for a clear error when TVM is missing or pinned
to a broken `apache-tvm-ffi`.
"""
from __future__ import annotations

from ._env import TVMUnavailable, require_tvm, tvm_available

__all__ = ["TVMUnavailable", "require_tvm", "tvm_available"]
