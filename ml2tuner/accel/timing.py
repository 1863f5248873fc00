"""Timing model: decoupled load / compute / store modules synchronised by VTA's four
dependency-token queues, as an event model over the instruction stream.

Each module executes its instructions in order; an instruction starts when its module is free
and the tokens it pops have been pushed, and pushes its tokens when it ends. Time advances per
instruction, never per cycle.

The tile loop nest is periodic: iterations of a loop level whose instructions have the same
timing (same padding, same guards) form runs. The state update of one iteration is max-plus
linear and homogeneous (shifting every time by c shifts the result by c), so once one iteration
of a run shifts the whole state by a constant lambda, every following iteration of the run
does too: the simulator then jumps over the rest of the run exactly, adding r*lambda to every
time and r times the iteration's counter increments.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from . import isa
from .compiler import Program

# queue ids: 0 l2c (consumed by compute), 1 c2l (load), 2 c2s (store), 3 s2c (compute)
_CONSUMER = (isa.COMPUTE, isa.LOAD, isa.STORE, isa.COMPUTE)
_POP_PREV = {isa.COMPUTE: 0, isa.STORE: 2}
_POP_NEXT = {isa.LOAD: 1, isa.COMPUTE: 3}
_PUSH_PREV = {isa.COMPUTE: 1, isa.STORE: 3}
_PUSH_NEXT = {isa.LOAD: 0, isa.COMPUTE: 2}
_OP_INDEX = {op: i for i, op in enumerate(isa.OPS)}


@dataclass
class TimingResult:
    cycles: int
    busy: tuple          # cycles each module (load, compute, store) was busy
    counters: dict       # VTA's seven counters + cycle_count
    insn_counts: dict
    simulated_insns: int  # instructions actually stepped (the rest was jumped over)


class TimingSim:
    def __init__(self, prog: Program, jump: bool = True):
        self.prog, self.jump_enabled = prog, jump
        self.free = [0, 0, 0]
        # prologue: each thread starts owning its input and output buffers
        self.q = [deque(), deque([0] * prog.nthr), deque(), deque([0] * prog.nthr)]
        self.busy = [0, 0, 0]
        self.cnt = [0] * len(isa.COUNTERS)
        self.nins = [0] * len(isa.OPS)
        self.resident: set = set()
        self.stepped = 0

    # ----- executing instructions ---------------------------------------------------------------
    def run(self, insns):
        free, q, cnt = self.free, self.q, self.cnt
        for ins in insns:
            m, f = ins.mod, ins.flags
            start = free[m]
            if f & isa.POP_PREV:
                tok = q[_POP_PREV[m]].popleft()
                if tok > start:
                    start = tok
            if f & isa.POP_NEXT:
                tok = q[_POP_NEXT[m]].popleft()
                if tok > start:
                    start = tok
            end = start + ins.dur
            free[m] = end
            self.busy[m] += ins.dur
            if f & isa.PUSH_PREV:
                q[_PUSH_PREV[m]].append(end)
            if f & isa.PUSH_NEXT:
                q[_PUSH_NEXT[m]].append(end)
            for slot, amount in ins.cnt:
                cnt[slot] += amount
            self.nins[_OP_INDEX[ins.op]] += 1
        self.stepped += len(insns)

    # ----- steady-state jumps ---------------------------------------------------------------------
    def _times(self):
        """Module free times and queued token times; a token is clamped to its consumer's free
        time (exact: the consumer cannot start before that anyway)."""
        out = list(self.free)
        for qi, dq in enumerate(self.q):
            floor = self.free[_CONSUMER[qi]]
            out.extend(t if t > floor else floor for t in dq)
        return out

    def snapshot(self):
        return (self._times(), tuple(len(d) for d in self.q), len(self.resident),
                list(self.busy), list(self.cnt), list(self.nins))

    def try_jump(self, snap, repeats: int) -> bool:
        times0, lens0, res0, busy0, cnt0, nins0 = snap
        if not self.jump_enabled or len(self.resident) != res0 or \
                tuple(len(d) for d in self.q) != lens0:
            return False
        times1 = self._times()
        lam = times1[0] - times0[0]
        if any(b - a != lam for a, b in zip(times0, times1)):
            return False
        shift = lam * repeats
        self.free = [t + shift for t in times1[:3]]
        pos = 3
        for qi, dq in enumerate(self.q):
            n = len(dq)
            self.q[qi] = deque(t + shift for t in times1[pos:pos + n])
            pos += n
        for arr, old in ((self.busy, busy0), (self.cnt, cnt0), (self.nins, nins0)):
            for i in range(len(arr)):
                arr[i] += (arr[i] - old[i]) * repeats
        return True

    def run_level(self, level: int, coord: tuple):
        prog = self.prog
        n = prog.levels[level]
        i = 0
        while i < n:
            cls = prog.level_class(level, i)
            snap = self.snapshot()
            self.iteration(level, coord + (i,))
            i += 1
            r = 0
            while i + r < n and prog.level_class(level, i + r) == cls:
                r += 1
            if r and self.try_jump(snap, r):
                i += r

    def iteration(self, level: int, coord: tuple):
        prog = self.prog
        if level == 3:
            self.run(prog.pre(*coord, self.resident))
            self.run_level(4, coord)
            self.run(prog.post(*coord, self.resident))
        elif level == 4:
            self.run(prog.kstep(*coord, self.resident))
        else:
            self.run_level(level + 1, coord)

    def result(self) -> TimingResult:
        cycles = max(self.free)
        counters = dict(zip(isa.COUNTERS, self.cnt))
        counters["cycle_count"] = cycles
        return TimingResult(cycles, tuple(self.busy), counters, dict(zip(isa.OPS, self.nins)),
                            self.stepped)


def simulate(prog: Program, jump: bool = True) -> TimingResult:
    """Cycle count of a compiled program (call `prog.runtime_fault()` first)."""
    sim = TimingSim(prog, jump)
    sim.run_level(0, ())
    return sim.result()
