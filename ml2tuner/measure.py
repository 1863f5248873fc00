"""Measurement results and the Measurer protocol that every backend implements.

A measurer profiles configurations of one `Space`, given as indices. `cost` is seconds per run
(lower is better) for valid configurations and None otherwise. `compile_time` and `run_time` are
what compiling and profiling the configuration take (or, for the simulator and replay, stand
for); `profile_time` is what this measurement charged to the run's clock (`clock.SimClock`):
`run_time`, plus `compile_time` unless the configuration was compiled earlier in the run.
"""
from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from .space import Space


class Status(str, enum.Enum):
    OK = "ok"
    COMPILE_ERROR = "compile_error"
    RUNTIME_ERROR = "runtime_error"
    WRONG_ANSWER = "wrong_answer"
    TIMEOUT = "timeout"


@dataclass
class MeasureResult:
    index: int
    config: dict
    status: Status
    cost: float | None = None          # seconds per run
    cycles: int | None = None
    gflops: float | None = None
    counters: dict = field(default_factory=dict)
    hidden: dict = field(default_factory=dict)   # hidden features from compiling
    profile_time: float = 0.0          # seconds this measurement charged to the clock
    error: str = ""
    compile_time: float | None = None  # seconds to compile (None: not recorded, schema 1)
    run_time: float | None = None      # seconds to upload and run, or to hit the fault
    clock: float | None = None         # the run's simulated clock after this measurement

    @property
    def valid(self) -> bool:
        return self.status == Status.OK

    def to_record(self) -> dict:
        return {"index": int(self.index), "config": self.config, "status": self.status.value,
                "cost": self.cost, "cycles": self.cycles, "gflops": self.gflops,
                "counters": self.counters, "hidden": self.hidden,
                "profile_time": self.profile_time, "error": self.error,
                "compile_time": self.compile_time, "run_time": self.run_time, "clock": self.clock}

    @classmethod
    def from_record(cls, r: dict) -> "MeasureResult":
        return cls(index=int(r["index"]), config=r["config"], status=Status(r["status"]),
                   cost=r.get("cost"), cycles=r.get("cycles"), gflops=r.get("gflops"),
                   counters=r.get("counters") or {}, hidden=r.get("hidden") or {},
                   profile_time=float(r.get("profile_time") or 0.0), error=r.get("error", ""),
                   compile_time=_opt_float(r.get("compile_time")),
                   run_time=_opt_float(r.get("run_time")), clock=_opt_float(r.get("clock")))


def _opt_float(v):
    return None if v is None else float(v)


class Measurer(ABC):
    """A backend that profiles configurations of `self.space`."""

    space: Space
    #: floating-point operations of the workload, to turn cost into GFLOPS (None if unknown)
    flops: float | None = None
    #: True when `hidden_features` really compiles (None then means "fails to compile");
    #: False for backends without a compiler, whose None means "unknown"
    has_compiler: bool = False

    @abstractmethod
    def measure(self, indices) -> list[MeasureResult]:
        """Profile each configuration; one result per index, in order."""

    def hidden_features(self, indices) -> list[dict | None]:
        """Compile without running: hidden features per index, None where compiling fails.
        Each first compile is charged to `sim_clock`. Backends without a compiler return None
        for all and charge nothing (Model A then stays unused)."""
        return [None] * len(indices)

    @property
    def sim_clock(self):
        """The run's simulated clock (`clock.SimClock`), created on first use."""
        if getattr(self, "_sim_clock", None) is None:
            from .clock import SimClock
            self._sim_clock = SimClock()
        return self._sim_clock

    def reset_clock(self) -> None:
        self._sim_clock = None

    def describe(self) -> dict:
        """Metadata for a trace header."""
        return {"space": self.space.to_dict()}

    def descriptor(self) -> dict:
        """The task's numeric descriptor (layer shape, accelerator parameters) that cross-task
        models and the copula prior condition on; {} when the backend knows none."""
        return dict(self.describe().get("descriptor") or {})


def best_found_curve(results, budget: int | None = None) -> np.ndarray:
    """Best cost after each of the first `budget` results (all if None), in measuring order;
    inf until the first valid one. Shorter than `budget` if there are fewer results."""
    res = list(results)[:budget] if budget is not None else list(results)
    c = np.array([r.cost if r.valid and r.cost is not None else np.inf for r in res],
                 dtype=np.float64)
    c[np.isnan(c)] = np.inf
    return np.minimum.accumulate(c) if c.size else c
