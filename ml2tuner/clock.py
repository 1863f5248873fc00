"""One simulated clock per tuning run, charged the same way for every tuner.

Compiling a configuration is charged once, whatever asked for it (hidden features, a compile
screen, itervar features, a measurement); a compile failure costs its compile time. Profiling
charges the run part (upload + repeated runs, or the cost of the fault); a configuration compiled
earlier pays only that. Listeners see every compile-only event as a trace record, so a run can be
audited from its trace: the `clock` of each record is the running sum of what came before.
"""
from __future__ import annotations

from .measure import MeasureResult, Status


class SimClock:
    def __init__(self):
        self.seconds = 0.0
        self.compiled: dict[int, bool] = {}    # index -> compiled successfully
        self.n_measured = 0                     # profiles charged (repeat replay reads excluded)
        self.n_invalid_measured = 0
        self.listeners: list = []              # called with each compile-only event (a dict)

    @property
    def n_compiled(self) -> int:
        return len(self.compiled)

    def charge_compile(self, index: int, status: Status, compile_time: float) -> float:
        """Compile without running; returns what was charged (0 when compiled before)."""
        index = int(index)
        if index in self.compiled:
            return 0.0
        self.compiled[index] = status != Status.COMPILE_ERROR
        self.seconds += float(compile_time)
        event = {"record": "compile", "index": index, "status": Status(status).value,
                 "compile_time": float(compile_time), "clock": self.seconds}
        for listen in self.listeners:
            listen(event)
        return float(compile_time)

    def charge_measure(self, r: MeasureResult) -> MeasureResult:
        """Charge a profile of `r` (its compile part only if not compiled yet); sets
        `r.profile_time` to the charge and `r.clock` to the clock after it."""
        i = int(r.index)
        charge = float(r.run_time or 0.0)
        if i not in self.compiled:
            self.compiled[i] = r.status != Status.COMPILE_ERROR
            charge += float(r.compile_time or 0.0)
        self.seconds += charge
        self.n_measured += 1
        self.n_invalid_measured += not r.valid
        r.profile_time, r.clock = charge, self.seconds
        return r

    def restore(self, compile_events, results) -> None:
        """Continue a recorded run: its compiles are known, its clock is where it stopped."""
        for e in compile_events:
            self.compiled.setdefault(int(e["index"]), e["status"] != Status.COMPILE_ERROR.value)
        for r in results:
            self.compiled.setdefault(int(r.index), r.status != Status.COMPILE_ERROR)
            self.n_measured += 1
            self.n_invalid_measured += not r.valid
        clocks = [float(e["clock"]) for e in compile_events if e.get("clock") is not None]
        clocks += [float(r.clock) for r in results if r.clock is not None]
        self.seconds = max(clocks, default=sum(float(r.profile_time) for r in results))

    def summary(self) -> dict:
        return {"simulated_seconds": self.seconds, "n_compiled": self.n_compiled,
                "n_measured": self.n_measured, "n_invalid_measured": self.n_invalid_measured}


__all__ = ["SimClock"]
