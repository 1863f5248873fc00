"""The build step: a LocalBuilder that does not time out, plus optional accelerator-like limits.

Why not MetaSchedule's default builder: its `default_build` imports `tvm.s_tir.tensor_intrin` in
every fresh worker (the pool is re-created for every batch), which takes 11 s on this machine
(~30 s on slower ones) and counts against the 30 s build timeout, so builds time out. Two cures:

* `mode="light"` (default): our build function does what `default_build` does minus that
  import. Tensorized schedules do not need the intrinsic registry at build time (tensorize
  already rewrote the block bodies), and the main process still imports it (TuneContext does).
* `mode="preimport"`: keep TVM's `default_build` but pre-import the module through the pool's
  `initializer=` (which runs with no timeout) and raise the timeout. ~11 s extra per batch.

`BuildConstraints` rejects candidates at build time the way an accelerator's compiler does
(VTA: SRAM overflow, DMA shape): e.g. `max_vector_lanes=8` fails every schedule that vectorizes
a loop wider than 8. That gives the validity model V real failures to learn on a CPU target,
where nearly every MetaSchedule candidate builds.

This module is shipped to the builder workers by value (cloudpickle), so it must only import
TVM inside functions and nothing from ml2tuner.
"""
from __future__ import annotations

from dataclasses import dataclass


class ConstraintViolation(RuntimeError):
    """A candidate breaks a BuildConstraints limit (reported as a build error)."""


def _walk(stmt, visit):
    """Pre-order walk over TIR statements (the Python API has no stmt visitor in TVM 0.27)."""
    stack = [stmt]
    while stack:
        s = stack.pop()
        if s is None:
            continue
        visit(s)
        seq = getattr(s, "seq", None)
        if seq is not None:
            stack.extend(reversed(list(seq)))
        for attr in ("body", "block", "init", "then_case", "else_case"):
            child = getattr(s, attr, None)
            if child is not None and hasattr(child, "__class__") and not isinstance(child, (int, str)):
                stack.append(child)


def loop_stats(mod) -> dict:
    """Static statistics of a scheduled IRModule: vector lanes, unrolled and parallel loops."""
    from tvm import tirx
    stats = {"max_vector_lanes": 0, "n_vectorized": 0, "n_parallel": 0, "n_unrolled": 0,
             "n_loops": 0, "alloc_bytes": 0}

    def visit(s):
        if isinstance(s, tirx.For):
            stats["n_loops"] += 1
            kind = int(s.kind)
            ext = s.extent
            lanes = int(ext.value) if hasattr(ext, "value") else -1
            if kind == int(tirx.ForKind.VECTORIZED):
                stats["n_vectorized"] += 1
                stats["max_vector_lanes"] = max(stats["max_vector_lanes"], lanes)
            elif kind == int(tirx.ForKind.PARALLEL):
                stats["n_parallel"] += 1
            elif kind == int(tirx.ForKind.UNROLLED):
                stats["n_unrolled"] += 1
        for buf in getattr(s, "alloc_buffers", None) or ():
            n = 1
            for d in buf.shape:
                n *= int(d.value) if hasattr(d, "value") else 1
            stats["alloc_bytes"] += n * ((buf.dtype.bits * buf.dtype.lanes + 7) // 8)

    for _, func in mod.functions_items():
        body = getattr(func, "body", None)
        if body is not None:
            _walk(body, visit)
    return stats


@dataclass(frozen=True)
class BuildConstraints:
    """Limits a candidate must respect to build; None means no limit."""
    max_vector_lanes: int | None = None
    max_alloc_bytes: int | None = None

    def violation(self, mod) -> str | None:
        if self.max_vector_lanes is None and self.max_alloc_bytes is None:
            return None
        st = loop_stats(mod)
        if self.max_vector_lanes is not None and st["max_vector_lanes"] > self.max_vector_lanes:
            return (f"vectorized loop of {st['max_vector_lanes']} lanes exceeds "
                    f"max_vector_lanes={self.max_vector_lanes}")
        if self.max_alloc_bytes is not None and st["alloc_bytes"] > self.max_alloc_bytes:
            return (f"scratch buffers of {st['alloc_bytes']} B exceed "
                    f"max_alloc_bytes={self.max_alloc_bytes}")
        return None

    def to_dict(self) -> dict:
        return {"max_vector_lanes": self.max_vector_lanes, "max_alloc_bytes": self.max_alloc_bytes}


@dataclass(frozen=True)
class ML2Build:
    """`f_build` for LocalBuilder: check constraints, then build like TVM's default_build."""
    constraints: BuildConstraints | None = None
    import_intrinsics: bool = False

    def __call__(self, mod, target, _params=None):
        if self.import_intrinsics:
            import tvm.s_tir.tensor_intrin  # noqa: F401  (what TVM's default_build does)
        if self.constraints is not None:
            why = self.constraints.violation(mod)
            if why:
                raise ConstraintViolation(why)
        from tvm.driver import build as tvm_build
        from tvm.s_tir.transform import RemoveWeightLayoutRewriteBlock
        mod = RemoveWeightLayoutRewriteBlock(skip_tensor_rewrite=True)(mod)
        return tvm_build(mod, target=target)


def preimport_tensor_intrin():
    """Builder-worker initializer: pay the ~11-30 s import once per worker, outside the timeout."""
    import tvm.s_tir.tensor_intrin  # noqa: F401


def make_builder(*, max_workers: int = 2, timeout_s: float = 120.0, mode: str = "light",
                 constraints: BuildConstraints | None = None):
    """A LocalBuilder that works on 0.27 (see the module doc for `mode`)."""
    import sys

    import cloudpickle
    from tvm.s_tir.meta_schedule.builder import LocalBuilder

    # ship this module's functions by value: the workers need not find ml2tuner on sys.path
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    if mode == "light":
        return LocalBuilder(max_workers=max_workers, timeout_sec=timeout_s,
                            f_build=ML2Build(constraints, import_intrinsics=False))
    if mode == "preimport":
        f_build = None if constraints is None else ML2Build(constraints, import_intrinsics=True)
        return LocalBuilder(max_workers=max_workers, timeout_sec=timeout_s, f_build=f_build,
                            initializer=preimport_tensor_intrin)
    if mode == "default":  # TVM's own, for reproducing the timeout problem
        return LocalBuilder(max_workers=max_workers)
    raise ValueError(f"unknown builder mode {mode!r} (light, preimport, default)")
