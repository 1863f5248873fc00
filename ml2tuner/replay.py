"""Simulation mode: a measurer that answers from exhaustive data instead of running anything.

The simulated clock follows "Tuning the Tuner" (arXiv 2509.26300): the first visit of a
configuration charges its recorded profile time (compile + verification + benchmark; failures
keep their recorded compile time, so they cost time too); a repeat visit is free, as a tuner
would read it from its own cache. Where the data splits compile from run time, compiling for
hidden features charges the recorded compile time once, and a later visit pays only the run
part, as on the live simulator (`clock.SimClock`).
"""
from __future__ import annotations

import numpy as np

from .errors import SpaceError
from .kt_cache import ExhaustiveData, load_exhaustive
from .measure import Measurer, MeasureResult, Status


class ReplayMeasurer(Measurer):
    """Replays `data`. `profile_time` of each result is what that visit charged (0 on a
    repeat), so the sum over all results plus the compile-only charges equals `clock`.

    Counters: `n_visits` (all measured indices), `n_unique` (distinct configurations),
    `n_invalid` (distinct configurations that were not OK).
    """

    def __init__(self, data: ExhaustiveData, flops: float | None = None):
        self.data = data
        self.space = data.space
        self.flops = flops if flops is not None else data.flops
        self.reset()

    @classmethod
    def from_file(cls, path, flops: float | None = None) -> "ReplayMeasurer":
        """A KT cache (.json[.gz], native or T4) or an exhaustive ml2tuner trace (.jsonl[.gz])."""
        return cls(load_exhaustive(path), flops=flops)

    def reset(self) -> None:
        """Forget all visits and set the clock to zero (a fresh tuning run on the same data)."""
        self.reset_clock()
        self.n_visits = 0
        self.n_invalid = 0
        self._visited = np.zeros(len(self.space), dtype=bool)

    @property
    def clock(self) -> float:
        return self.sim_clock.seconds

    def _compile_time(self, i: int) -> float:
        ct = self.data.compile_time
        return 0.0 if ct is None else float(ct[i])

    @property
    def n_unique(self) -> int:
        return int(self._visited.sum())

    def visited(self, index: int) -> bool:
        return bool(self._visited[self._check([index])[0]])

    def _check(self, indices) -> np.ndarray:
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise SpaceError(f"indices must be a sequence of integers, got {indices!r}")
        idx = idx.astype(np.int64)
        bad = idx[(idx < 0) | (idx >= len(self.space))]
        if bad.size:
            raise SpaceError(f"index {int(bad[0])} outside the space of size {len(self.space)}")
        return idx

    def measure(self, indices) -> list[MeasureResult]:
        idx = self._check(indices)      # all checked before any is charged
        d = self.data
        out = []
        for i in idx.tolist():
            st = Status(d.status[i])
            cost = float(d.cost[i]) if st == Status.OK else None
            gflops = (self.flops / cost / 1e9
                      if cost is not None and cost > 0 and self.flops else None)
            hidden = d.hidden[i] if d.hidden is not None else None
            ct = self._compile_time(i)
            r = MeasureResult(
                index=i, config=self.space.index_to_config(i), status=st, cost=cost,
                gflops=gflops, hidden=dict(hidden) if hidden else {},
                error=str(d.error[i]) if d.error is not None and d.error[i] else "",
                compile_time=ct, run_time=float(d.profile_time[i]) - ct)
            if not self._visited[i]:
                self._visited[i] = True
                self.n_invalid += st != Status.OK
                self.sim_clock.charge_measure(r)
            else:
                r.profile_time, r.clock = 0.0, self.clock
            self.n_visits += 1
            out.append(r)
        return out

    @property
    def has_compiler(self) -> bool:
        return self.data.hidden is not None

    def hidden_features(self, indices) -> list[dict | None]:
        """Recorded hidden features (None for compile errors) when the data has them, else all
        None. Each first compile charges its recorded compile time (when the data records it)."""
        idx = self._check(indices)
        if self.data.hidden is None:
            return [None] * idx.size
        for i in idx.tolist():
            self.sim_clock.charge_compile(i, Status(self.data.status[i]), self._compile_time(i))
        return [None if self.data.hidden[i] is None else dict(self.data.hidden[i])
                for i in idx.tolist()]

    def describe(self) -> dict:
        m = self.data.meta
        return {"space": self.space.to_dict(),
                "replay": {k: m[k] for k in ("source", "format", "objective", "maximize",
                                             "cost_unit", "device_name", "kernel_name")
                           if k in m}}

    def descriptor(self) -> dict:
        """The recorded descriptor of an ml2tuner trace; for older traces without one, rebuilt
        from the recorded accelerator and workload; {} for Kernel Tuner caches."""
        m = self.data.meta
        if m.get("descriptor"):
            return dict(m["descriptor"])
        if isinstance(m.get("accel"), dict) and m.get("workload"):
            from .accel.hardware import hardware_from_dict
            from .accel.workloads import parse_workload
            return {**hardware_from_dict(m["accel"]).descriptor(),
                    **parse_workload(m["workload"]).descriptor()}
        return {}


__all__ = ["ReplayMeasurer"]
