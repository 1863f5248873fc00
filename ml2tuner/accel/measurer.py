"""AccelMeasurer: compile and time configurations on the VTA-style simulator.

Profiling wall time is modelled too, since sample efficiency is about it: a valid config costs
compile + upload + `repeats` runs; one that fails to compile costs the early failure; one that
faults at run time costs compile + upload + a board reset; a run past the timeout is killed.
Each result carries the compile part and the run part separately; the run's `sim_clock` charges
a compile once per configuration, whether `hidden_features` or `measure` asked for it.
"""
from __future__ import annotations

import numpy as np

from ..measure import MeasureResult, Measurer, Status
from .compiler import CompileError, Program, make_space
from .hardware import HardwareConfig, load_hardware
from .timing import simulate
from .workloads import Conv2D, parse_workload


class AccelMeasurer(Measurer):
    has_compiler = True
    def __init__(self, accel="vta-1x16", workload="resnet18.C2", noise: float = 0.0,
                 seed: int = 0):
        self.hw: HardwareConfig = load_hardware(accel)
        self.wl: Conv2D = parse_workload(workload)
        self.space = make_space(self.wl, self.hw)
        self.flops = self.wl.flops
        self.noise, self.seed = float(noise), int(seed)
        self._cache: dict[int, MeasureResult] = {}
        self._visits: dict[int, int] = {}

    # ----- deterministic part -----------------------------------------------------------------
    def _evaluate(self, index: int) -> MeasureResult:
        if index in self._cache:
            return self._cache[index]
        cfg = self.space.index_to_config(index)
        prof = self.hw.profiling
        try:
            prog = Program(self.wl, self.hw, cfg)
        except CompileError as e:
            res = MeasureResult(index, cfg, Status.COMPILE_ERROR, error=f"{e.kind}: {e}",
                                compile_time=prof["compile_fail_s"], run_time=0.0,
                                profile_time=prof["compile_fail_s"])
            self._cache[index] = res
            return res
        hidden = prog.hidden_features()
        compile_s = prof["compile_base_s"] + prof["compile_per_kuop_s"] * prog.uop_total / 1000
        fault = prog.runtime_fault()
        if fault is not None:
            res = MeasureResult(index, cfg, Status.RUNTIME_ERROR, hidden=hidden,
                                run_time=prof["upload_s"] + prof["runtime_error_s"],
                                error=f"{fault.kind}: {fault}")
        else:
            tr = simulate(prog)
            seconds = tr.cycles / (self.hw.clock_mhz * 1e6)
            counters = dict(tr.counters)
            counters.update({f"busy_{m}": b for m, b in zip(("load", "compute", "store"), tr.busy)})
            if seconds > prof["timeout_s"]:
                res = MeasureResult(index, cfg, Status.TIMEOUT, hidden=hidden, counters=counters,
                                    run_time=prof["upload_s"] + prof["timeout_s"],
                                    error="run exceeded the timeout")
            else:
                res = MeasureResult(index, cfg, Status.OK, cost=seconds, cycles=int(tr.cycles),
                                    gflops=self.flops / seconds / 1e9, counters=counters,
                                    hidden=hidden, run_time=prof["upload_s"] + prof["repeats"]
                                    * (seconds + prof["run_overhead_s"]))
        if res.compile_time is None:
            res.compile_time = compile_s
        res.profile_time = res.compile_time + res.run_time   # what a fresh measurement charges
        self._cache[index] = res
        return res

    # ----- Measurer API -----------------------------------------------------------------------
    def measure(self, indices) -> list[MeasureResult]:
        out = []
        for i in np.atleast_1d(np.asarray(indices, dtype=np.int64)).tolist():
            base = self._evaluate(i)
            r = MeasureResult(**{**base.__dict__, "counters": dict(base.counters),
                                 "hidden": dict(base.hidden)})
            visit = self._visits.get(i, 0)
            self._visits[i] = visit + 1
            if self.noise > 0 and r.valid:
                # seeded per (seed, config, visit): independent of measuring order
                rng = np.random.default_rng([self.seed, i, visit])
                r.cost = float(r.cost * np.exp(rng.normal(0.0, self.noise)))
                r.gflops = self.flops / r.cost / 1e9
            out.append(self.sim_clock.charge_measure(r))
        return out

    def hidden_features(self, indices) -> list[dict | None]:
        out = []
        for i in np.atleast_1d(np.asarray(indices, dtype=np.int64)).tolist():
            r = self._evaluate(i)
            self.sim_clock.charge_compile(i, r.status, r.compile_time)
            out.append(dict(r.hidden) if r.status != Status.COMPILE_ERROR else None)
        return out

    def describe(self) -> dict:
        return {"space": self.space.to_dict(), "accel": self.hw.to_dict(),
                "workload": self.wl.spec(), "workload_name": self.wl.label,
                "flops": self.flops, "noise": self.noise, "seed": self.seed,
                "descriptor": {**self.hw.descriptor(), **self.wl.descriptor()}}
