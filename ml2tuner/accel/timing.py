"""Timing model: decoupled load / compute / store modules synchronised by VTA's four
dependency-token queues and sharing one AXI memory port, as an event model over the
instruction stream.

Each module executes its instructions in order; an instruction starts when its module is free
and the tokens it pops have been pushed, and pushes its tokens when it ends. Tokens are kept per
virtual thread: TVM plans them before it interleaves the threads (CoProcSync runs before
InjectVirtualThread in VTA's build), so a thread only ever consumes its own tokens.

The port (vivado.tcl: fetch, load, compute data, compute uop and store share one SmartConnect
into one PS port) is a calendar of reserved intervals. A DMA's data beats are reserved as one
block in the first free gap at or after the time its first beat can arrive; waiting for the
port delays the DMA's end by the same amount. Instruction fetch reads 16 bytes per instruction
over the same port; the 512-deep command queues let fetch run ahead, so a fetch never delays its
instruction but takes port time from the DMAs running then. Real AXI arbitration interleaves
bursts; reserving whole blocks keeps the port's total bandwidth exact and approximates only who
waits.

The tile loop nest is periodic: iterations of a loop level whose instructions have the same
timing (same padding) form runs. The state update of one iteration is max-plus-like and shift
invariant (shifting every time by c shifts the result by c), so once one iteration of a run
shifts the whole state by a constant lambda, every following iteration of the run does too: the
simulator then jumps over the rest of the run exactly, adding r*lambda to every time and r times
the iteration's counter increments.
"""
from __future__ import annotations

import bisect
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
    port_beats: int = 0  # data + fetch beats moved over the shared port
    port_wait: int = 0   # cycles DMAs waited for the port


class Port:
    """Reserved intervals [start, end) of the shared port, sorted and disjoint."""

    def __init__(self):
        self.starts: list[int] = []
        self.ends: list[int] = []

    def reserve(self, t0: int, length: int) -> int:
        """Reserve `length` cycles in the first gap at or after t0; returns the block's start."""
        starts, ends = self.starts, self.ends
        i = bisect.bisect_right(starts, t0) - 1
        t = t0
        if i >= 0 and ends[i] > t:
            t = ends[i]
        j = i + 1
        while j < len(starts) and starts[j] < t + length:
            t = max(t, ends[j])
            j += 1
        # insert [t, t+length) at position j, merging with touching neighbours
        end = t + length
        if j > 0 and ends[j - 1] == t:
            ends[j - 1] = end
            if j < len(starts) and starts[j] == end:
                ends[j - 1] = ends.pop(j)
                starts.pop(j)
        elif j < len(starts) and starts[j] == end:
            starts[j] = t
        else:
            starts.insert(j, t)
            ends.insert(j, end)
        return t

    def prune(self, floor: int):
        """Forget what lies before `floor`: no reservation can start earlier."""
        k = bisect.bisect_right(self.ends, floor)
        if k:
            del self.starts[:k], self.ends[:k]
        if self.starts and self.starts[0] < floor:
            self.starts[0] = floor

    def times(self) -> list[int]:
        return [x for pair in zip(self.starts, self.ends) for x in pair]

    def shift(self, times: list[int], delta: int):
        self.starts = [t + delta for t in times[0::2]]
        self.ends = [t + delta for t in times[1::2]]


class TimingSim:
    def __init__(self, prog: Program, jump: bool = True, record: bool = False):
        self.prog, self.jump_enabled = prog, jump
        n = prog.nthr
        self.free = [0, 0, 0]
        # per (queue, thread); prologue: each thread starts owning its input and output buffers
        self.q = [[deque() for _ in range(n)] for _ in range(4)]
        for thr in range(n):
            self.q[1][thr].append(0)
            self.q[3][thr].append(0)
        self.port = Port()
        self.fetch_beats = isa.row_beats(prog.hw.bus_bytes, 1, isa.INSN_BYTES)
        self.busy = [0, 0, 0]
        self.cnt = [0] * len(isa.COUNTERS)
        self.nins = [0] * len(isa.OPS)
        self.extra = [0, 0]          # port beats, port wait
        self.resident: set = set()
        self.stepped = 0
        self.log = [] if record else None    # (insn, start, end) when recording

    # ----- executing instructions ---------------------------------------------------------------
    def run(self, insns):
        free, q, cnt, port = self.free, self.q, self.cnt, self.port
        for ins in insns:
            m, f, thr = ins.mod, ins.flags, ins.thr
            start = free[m]
            if f & isa.POP_PREV:
                tok = q[_POP_PREV[m]][thr].popleft()
                if tok > start:
                    start = tok
            if f & isa.POP_NEXT:
                tok = q[_POP_NEXT[m]][thr].popleft()
                if tok > start:
                    start = tok
            port.reserve(start, self.fetch_beats)
            end = start + ins.dur
            if ins.beats:
                t0 = start + ins.lead
                wait = port.reserve(t0, ins.beats) - t0
                end += wait
                self.extra[1] += wait
                self.extra[0] += ins.beats
            self.extra[0] += self.fetch_beats
            free[m] = end
            self.busy[m] += end - start
            if f & isa.PUSH_PREV:
                q[_PUSH_PREV[m]][thr].append(end)
            if f & isa.PUSH_NEXT:
                q[_PUSH_NEXT[m]][thr].append(end)
            for slot, amount in ins.cnt:
                cnt[slot] += amount
            self.nins[_OP_INDEX[ins.op]] += 1
            if self.log is not None:
                self.log.append((ins, start, end))
        self.stepped += len(insns)
        if len(port.starts) > 32:
            port.prune(min(free))

    # ----- steady-state jumps ---------------------------------------------------------------------
    def _times(self):
        """Module free times, queued token times and the port calendar; a token is clamped to
        its consumer's free time (exact: the consumer cannot start before that anyway)."""
        out = list(self.free)
        for qi, per_thr in enumerate(self.q):
            floor = self.free[_CONSUMER[qi]]
            for dq in per_thr:
                out.extend(t if t > floor else floor for t in dq)
        self.port.prune(min(self.free))
        out.extend(self.port.times())
        return out

    def _lengths(self):
        return (tuple(len(dq) for per_thr in self.q for dq in per_thr), len(self.port.starts))

    def snapshot(self):
        return (self._times(), self._lengths(), len(self.resident),
                list(self.busy), list(self.cnt), list(self.nins), list(self.extra))

    def try_jump(self, snap, repeats: int) -> bool:
        times0, lens0, res0, busy0, cnt0, nins0, extra0 = snap
        if not self.jump_enabled or len(self.resident) != res0:
            return False
        times1 = self._times()
        if self._lengths() != lens0:
            return False
        lam = times1[0] - times0[0]
        if any(b - a != lam for a, b in zip(times0, times1)):
            return False
        shift = lam * repeats
        self.free = [t + shift for t in times1[:3]]
        pos = 3
        for per_thr in self.q:
            for thr, dq in enumerate(per_thr):
                n = len(dq)
                per_thr[thr] = deque(t + shift for t in times1[pos:pos + n])
                pos += n
        self.port.shift(times1[pos:], shift)
        for arr, old in ((self.busy, busy0), (self.cnt, cnt0), (self.nins, nins0),
                         (self.extra, extra0)):
            for i in range(len(arr)):
                arr[i] += (arr[i] - old[i]) * repeats
        return True

    def run_level(self, level: int, coord: tuple):
        prog = self.prog
        n = prog.levels[level]
        i = 0
        while i < n:
            cls = prog.level_class(level, i)
            snap = self.snapshot() if self.jump_enabled else None
            self.iteration(level, coord + (i,))
            i += 1
            r = 0
            while i + r < n and prog.level_class(level, i + r) == cls:
                r += 1
            if r and snap is not None and self.try_jump(snap, r):
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
                            self.stepped, self.extra[0], self.extra[1])


def simulate(prog: Program, jump: bool = True) -> TimingResult:
    """Cycle count of a compiled program (call `prog.runtime_fault()` first)."""
    sim = TimingSim(prog, jump)
    sim.run_level(0, ())
    return sim.result()


def trace(prog: Program) -> list:
    """Every instruction with its start and end cycle, stepped without jumps (for checks)."""
    sim = TimingSim(prog, jump=False, record=True)
    sim.run_level(0, ())
    return sim.log
