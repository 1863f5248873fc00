"""Compile a conv2d/dense schedule configuration into a VTA-style program.

The schedule is AutoTVM's `conv2d_packed.vta` (vta/python/vta/top/vta_conv2d.py): the output is
tiled by (tile_h, tile_w, tile_co) with loop order (b, h, co, w); the reduction over
input-channel blocks is tiled by tile_ci, and the input window and weights of each reduction
tile are loaded by one 2-D DMA each. `tile_b` is declared by that template but never applied
(its schedule splits co, h and w only), so for conv2d it changes nothing; `dense_packed.vta`
does apply it. Virtual threads (oc_nthread x h_nthread) split the outer co and h loops by a
factor, replicate every on-chip buffer and interleave their instruction streams so that one
thread's loads overlap another thread's compute. Layouts are VTA's packed ones: inp [N/B][CI/BI][H][W](B,BI),
wgt [CO/BO][CI/BI][K][K](BO,BI), out [N/B][CO/BO][OH][OW](B,BO).

A configuration fails to compile (`CompileError`) when a buffer overflows, a DMA is not one
2-D transfer (including a virtual-thread split that does not divide its loop) or an
instruction field overflows; it fails at run time (`RuntimeFault`) when a
micro-op kernel exceeds the uop buffer, breaks VTA's dependence check, or indexes out of an SRAM.
"""
from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..space import Knob, Space
from . import isa
from .hardware import HardwareConfig
from .workloads import Conv2D

CONV_KNOBS = ("tile_b", "tile_h", "tile_w", "tile_ci", "tile_co", "oc_nthread", "h_nthread")
DENSE_KNOBS = ("tile_b", "tile_ci", "tile_co", "oc_nthread")


class CompileError(Exception):
    """The schedule does not lower to a valid program (AutoTVM error 2)."""

    def __init__(self, kind: str, msg: str):
        super().__init__(msg)
        self.kind = kind


class RuntimeFault(Exception):
    """The program faults on the device (AutoTVM error 4)."""

    def __init__(self, kind: str, msg: str):
        super().__init__(msg)
        self.kind = kind


def divisors(n: int) -> list[int]:
    """Ascending divisors of n by trial division up to sqrt(n): O(sqrt n), not O(n)."""
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return small + [n // d for d in reversed(small) if d * d != n]


def _blocks(wl: Conv2D, hw: HardwareConfig) -> tuple[int, int, int]:
    for dim, size, what in ((wl.N, hw.batch, "N (batch)"), (wl.IC, hw.block_in, "IC"),
                            (wl.OC, hw.block_out, "OC")):
        if dim % size:
            raise UserError(f"workload {wl.label}: {what}={dim} is not a multiple of "
                            f"{size} required by accelerator {hw.name}")
    return wl.N // hw.batch, wl.IC // hw.block_in, wl.OC // hw.block_out


def make_space(wl: Conv2D, hw: HardwareConfig) -> Space:
    """The AutoTVM space of the workload on the accelerator: divisor splits + virtual threads."""
    nb, cib, cob = _blocks(wl, hw)
    cand = {"tile_b": divisors(nb), "tile_h": divisors(wl.OH), "tile_w": divisors(wl.OW),
            "tile_ci": divisors(cib), "tile_co": divisors(cob), "oc_nthread": [1, 2],
            "h_nthread": [1, 2]}
    names = DENSE_KNOBS if wl.kind == "dense" else CONV_KNOBS
    return Space([Knob(k, tuple(cand[k])) for k in names], name=f"{hw.name}/{wl.label}")


def full_tiling(config: dict) -> dict:
    """A dense config has no h/w knobs; they are 1."""
    t = {"tile_h": 1, "tile_w": 1, "h_nthread": 1}
    t.update(config)
    return t


@dataclass
class Kernel:
    """A micro-op kernel: the unrolled uops (dst, src, wgt) and two folded loop levels."""
    kid: int
    name: str
    uops: np.ndarray
    iter_out: int
    iter_in: int
    f_out: tuple
    f_in: tuple

    @property
    def size(self) -> int:
        return len(self.uops)

    @property
    def n_ops(self) -> int:
        return self.iter_out * self.iter_in * len(self.uops)

    def max_index(self) -> np.ndarray:
        return (self.uops.max(axis=0) + (self.iter_out - 1) * np.array(self.f_out)
                + (self.iter_in - 1) * np.array(self.f_in))


def build_kernel(kid, name, loops, base) -> Kernel:
    """VTA's FoldUopLoop: the two outermost loops (extent > 1) become the instruction's
    iter_out/iter_in; every inner loop is unrolled into micro-ops. loops: (extent, (d, s, w))."""
    loops = [lp for lp in loops if lp[0] > 1]
    (io, fo), (ii, fi) = (loops + [(1, (0, 0, 0))] * 2)[:2]
    uops = np.array([base], dtype=np.int64)
    for ext, coef in loops[2:]:
        uops = (uops[:, None, :] + np.arange(ext)[None, :, None] * np.array(coef)[None, None, :]
                ).reshape(-1, 3)
    return Kernel(kid, name, uops, io, ii, tuple(fo), tuple(fi))


def merge_dims(dims):
    """Collapse (extent, stride) dims (outer->inner) that are contiguous; drop extent-1 dims."""
    dims = [d for d in dims if d[0] > 1] or [(1, 1)]
    out = [dims[0]]
    for ext, stride in dims[1:]:
        o_ext, o_stride = out[-1]
        if o_stride == ext * stride:
            out[-1] = (o_ext * ext, stride)
        else:
            out.append((ext, stride))
    if out[-1][1] != 1:          # a strided innermost dim moves one entry per row
        out.append((1, 1))
    return out


def as_2d(dims) -> tuple[int, int, int]:
    """(y_size, x_stride, x_size) of a merged DMA pattern of at most two dims."""
    if len(dims) == 1:
        return 1, dims[0][0], dims[0][0]
    (y, stride), (x, _) = dims
    return y, stride, x


# Requantisation in VTA's conv2d test template: right shift by 8, then clip as min(x, 127)
# followed by max(x, 0) (my_clip in vta/tests/python/integration/test_benchmark_topi_conv2d.py).
ALU_OPS = (("shr", 8), ("min", 127), ("max", 0))


class Program:
    """A compiled schedule. Instructions are generated per loop iteration on demand, so the
    timing model can simulate a few iterations and skip the periodic rest, while the
    functional executor can walk the whole stream."""

    def __init__(self, wl: Conv2D, hw: HardwareConfig, config: dict):
        self.wl, self.hw, self.config = wl, hw, dict(config)
        t = full_tiling(config)
        self.t = t
        nb, cib, cob = _blocks(wl, hw)
        self.NB, self.CIB, self.COB = nb, cib, cob
        tb, th, tw, tci, tco = t["tile_b"], t["tile_h"], t["tile_w"], t["tile_ci"], t["tile_co"]
        for name, ext, f in (("tile_b", nb, tb), ("tile_h", wl.OH, th), ("tile_w", wl.OW, tw),
                             ("tile_ci", cib, tci), ("tile_co", cob, tco)):
            if f < 1 or ext % f:
                raise UserError(f"{name}={f} does not divide its axis extent {ext}")
        if wl.kind != "dense":
            t["tile_b"] = tb = 1     # declared by conv2d_packed.vta, never applied (see above)
        self.hth, self.octh = t["h_nthread"], t["oc_nthread"]
        self.nthr = self.hth * self.octh
        s, K = wl.stride, wl.K
        self.h_win, self.w_win = (th - 1) * s + K, (tw - 1) * s + K
        self.n_b, self.n_h, self.n_w = nb // tb, wl.OH // th, wl.OW // tw
        self.n_co, self.n_ko = cob // tco, cib // tci
        self._check_thread_split()
        self.n_h_o, self.n_co_o = self.n_h // self.hth, self.n_co // self.octh
        self.levels = (self.n_b, self.n_h_o, self.n_co_o, self.n_w, self.n_ko)
        # per-thread buffer entries
        self.acc_e = tb * tco * th * tw
        self.inp_e = tb * tci * self.h_win * self.w_win
        self.wgt_e = tco * tci * K * K
        self._check_buffers()
        self._plan_dma()
        self._build_kernels()
        self._windows()

    # ----- compile-time checks ---------------------------------------------------------------
    def _check_buffers(self):
        """VTA registers each SRAM scope with its size (vta/python/vta/environment.py,
        mem_info_inp_buffer etc.) and TVM's storage planner rejects an allocation past it; a
        virtual thread replicates every buffer (InjectVirtualThread)."""
        for buf, need in (("acc", self.acc_e), ("inp", self.inp_e), ("wgt", self.wgt_e)):
            total, depth = need * self.nthr, self.hw.depth(buf)
            if total > depth:
                raise CompileError("sram_overflow", f"{buf} buffer overflow: {need} entries x "
                                   f"{self.nthr} virtual threads = {total} > depth {depth}")

    def _check_thread_split(self):
        """TVM splits x_co0 / x_i0 by the thread count; when that does not divide the loop, the
        split's bound check lands innermost, inside the output `dma_copy` nest (message_passing.cc
        places it before InjectDMAIntrin runs), and VTA's DMA pattern match rejects the copy."""
        for knob, n_tiles, nthr in (("oc_nthread", self.n_co, self.octh),
                                    ("h_nthread", self.n_h, self.hth)):
            if n_tiles % nthr:
                raise CompileError("dma_pattern", f"{knob}={nthr} does not divide the {n_tiles} "
                                   "outer tiles it splits: the guarded output copy is not a 2-D DMA")

    def _plan_dma(self):
        """InjectDMAIntrin (vta/python/vta/transform.py, _get_2d_pattern) merges a copy's
        contiguous dimensions and accepts at most two, plus on-the-fly padding only for a
        single-channel-block input; field widths come from VTA's hw_spec.h."""
        wl, t, H, W = self.wl, self.t, self.wl.H, self.wl.W
        tb, tci, tco = t["tile_b"], t["tile_ci"], t["tile_co"]
        K = wl.K
        if wl.pad > 0:
            if tb * tci > 1:
                raise CompileError("dma_pattern", "a padded input load must be one 2-D transfer "
                                   "(rows x columns): needs tile_ci = 1 and tile_b = 1")
            self.inp_dims = [(self.h_win, W), (self.w_win, 1)]
        else:
            self.inp_dims = merge_dims([(tb, self.CIB * H * W), (tci, H * W), (self.h_win, W),
                                        (self.w_win, 1)])
            if len(self.inp_dims) > 2:
                raise CompileError("dma_pattern", f"input window ({tci} ch x {self.h_win} x "
                                   f"{self.w_win}) does not merge into a 2-D DMA")
        self.wgt_dims = merge_dims([(tco, self.CIB * K * K), (tci, K * K), (K, K), (K, 1)])
        self.out_dims = merge_dims([(tb, self.COB * wl.OH * wl.OW), (tco, wl.OH * wl.OW),
                                    (t["tile_h"], wl.OW), (t["tile_w"], 1)])
        for name, dims in (("wgt", self.wgt_dims), ("out", self.out_dims)):
            if len(dims) > 2:
                raise CompileError("dma_pattern", f"{name} tile does not merge into a 2-D DMA "
                                   "(a store with tile_co > 1 needs tile_w = OW or tile_h = 1)")
        lim = (1 << isa.FIELD_BITS["x_size"]) - 1
        for name, dims in (("inp", self.inp_dims), ("wgt", self.wgt_dims), ("out", self.out_dims)):
            if any(e > lim for e, _ in dims) or (len(dims) == 2 and dims[0][1] > lim):
                raise CompileError("field_overflow", f"{name} DMA size/stride exceeds VTA's "
                                   f"16-bit fields: {dims}")
        if self.NB * self.CIB * H * W >= 1 << isa.FIELD_BITS["dram_base"]:
            raise CompileError("field_overflow", "input tensor exceeds the 32-bit DRAM address")

    def _build_kernels(self):
        t, K, s = self.t, self.wl.K, self.wl.stride
        tb, th, tw, tci, tco = t["tile_b"], t["tile_h"], t["tile_w"], t["tile_ci"], t["tile_co"]
        hw_, ww = self.h_win, self.w_win
        # loop order of the conv stage below the reduction tile: (ci, b, w, kw, kh, co, h)
        gemm_loops = [(tci, (0, hw_ * ww, K * K)), (tb, (tco * th * tw, tci * hw_ * ww, 0)),
                      (tw, (1, s, 0)), (K, (0, 1, 1)), (K, (0, ww, K)),
                      (tco, (th * tw, 0, tci * K * K)), (th, (tw, s * ww, 0))]
        reset_loops = [(tb, (tco * th * tw, 0, 0)), (tw, (1, 0, 0)), (tco, (th * tw, 0, 0)),
                       (th, (tw, 0, 0))]
        self.kernels = []   # per thread: reset, gemm, alu x3
        for thr in range(self.nthr):
            base = (thr * self.acc_e, thr * self.inp_e, thr * self.wgt_e)
            ks = [build_kernel(len(self.kernels), "reset", reset_loops, base),
                  build_kernel(len(self.kernels) + 1, "gemm", gemm_loops, base)]
            for j, (op, _) in enumerate(ALU_OPS):
                ks.append(self._alu_kernel(len(self.kernels) + 2 + j, op, thr * self.acc_e))
            self.kernels.extend(ks)
        it_lim = (1 << isa.FIELD_BITS["iter"]) - 1
        for k in self.kernels:
            if k.iter_out > it_lim or k.iter_in > it_lim:
                raise CompileError("field_overflow", f"{k.name} loop extent exceeds 14 bits")
        self.uop_total = sum(k.size for k in self.kernels)
        # the runtime caches kernels in the uop buffer when they all fit, else reloads per use
        self.uop_cached = self.uop_total <= self.hw.depth("uop")
        off, self.uop_offset = 0, {}
        for k in self.kernels:
            self.uop_offset[k.kid] = off if self.uop_cached else 0
            off += k.size

    def _alu_kernel(self, kid: int, name: str, acc_base: int) -> Kernel:
        """InjectALUIntrin (vta/python/vta/transform.py) flattens the loops over the thread's
        accumulator tile, which is contiguous, into one uop loop and pushes a single micro-op;
        with one loop the runtime sets iter_out = 1 and iter_in = the extent (runtime.cc
        PushALUUop)."""
        uops = np.array([(acc_base, acc_base, 0)], dtype=np.int64)
        return Kernel(kid, name, uops, 1, self.acc_e, (0, 0, 0), (1, 1, 0))

    def runtime_fault(self) -> RuntimeFault | None:
        """What VTA's runtime would reject when it builds and runs the micro-op kernels
        (vta/runtime/runtime.cc): UopQueue::Push checks a kernel fits the uop buffer, and
        UopKernel::VerifyDep that none of the last two micro-ops writes the same accumulator."""
        depth = self.hw.depth("uop")
        for k in self.kernels:
            if k.size > depth:
                return RuntimeFault("uop_overflow", f"{k.name} micro-op kernel of {k.size} "
                                    f"uops exceeds the uop buffer ({depth})")
        dst = self.kernels[1].uops[:, 0]
        if len(dst) > 1 and (np.any(dst[1:] == dst[:-1]) or np.any(dst[2:] == dst[:-2])):
            return RuntimeFault("uop_dependence", "consecutive GEMM micro-ops write the same "
                                "accumulator (VTA's dependence check: tile_co*tile_h <= 2 "
                                "with an unrolled reduction)")
        lim = np.array([self.hw.depth("acc"), self.hw.depth("inp"), self.hw.depth("wgt")])
        for k in self.kernels:
            m = k.max_index()
            used = m if k.name in ("gemm",) else np.array([m[0], 0, 0])
            if np.any(used >= lim):
                return RuntimeFault("sram_out_of_range", f"{k.name} indexes past an SRAM")
        return None

    # ----- tile geometry -----------------------------------------------------------------------
    def _windows(self):
        wl, s, p = self.wl, self.wl.stride, self.wl.pad
        th, tw = self.t["tile_h"], self.t["tile_w"]
        r0 = np.arange(self.n_h) * th * s - p
        self.yp0 = np.maximum(0, -r0)
        self.yp1 = np.maximum(0, r0 + self.h_win - wl.H)
        self.rows = self.h_win - self.yp0 - self.yp1
        self.r_start = np.maximum(r0, 0)
        c0 = np.arange(self.n_w) * tw * s - p
        self.xp0 = np.maximum(0, -c0)
        self.xp1 = np.maximum(0, c0 + self.w_win - wl.W)
        self.cols = self.w_win - self.xp0 - self.xp1
        self.c_start = np.maximum(c0, 0)

    def threads(self, h_o: int, co_o: int) -> list[tuple[int, int, int]]:
        """(thread, h tile, co tile) of each virtual thread in an outer iteration. The thread
        split divides its loop (else the program does not compile), so every thread is active."""
        return [(hv * self.octh + cv, h_o * self.hth + hv, co_o * self.octh + cv)
                for hv in range(self.hth) for cv in range(self.octh)]

    def level_class(self, level: int, i: int):
        """Iterations of a loop level with equal class have identical instruction timing."""
        if level == 1:
            return tuple((int(self.yp0[h]), int(self.yp1[h]))
                         for h in range(i * self.hth, (i + 1) * self.hth))
        if level == 3:
            return int(self.xp0[i]), int(self.xp1[i])
        return 0

    # ----- instruction generation ----------------------------------------------------------------
    def _uop_load(self, k: Kernel, resident: set, out: list):
        if self.uop_cached and k.kid in resident:
            return
        resident.add(k.kid)
        nbytes = k.size * self.hw.uop_elem_bytes
        # one memcpy burst (vta.cc compute(), VTA_MEM_ID_UOP)
        cyc, beats, lead = self._dma(1, k.size, self.hw.uop_elem_bytes, True)
        out.append(isa.Insn("LD_UOP", isa.COMPUTE, 0, cyc, ((isa.C_UOP, nbytes),),
                            (k.kid, self.uop_offset[k.kid]), beats=beats, lead=lead))

    def _dma(self, y, x, elem_bytes, pipelined_rows, pad_entries=0):
        hw = self.hw
        return isa.dma_cost(hw.timing, hw.dma_latency_cycles, hw.bus_bytes, y, x, elem_bytes,
                            pipelined_rows, pad_entries)

    def _compute(self, op, k: Kernel, flags, thr, extra=None) -> isa.Insn:
        tm = self.hw.timing
        if op == "ALU":
            return isa.Insn("ALU", isa.COMPUTE, flags,
                            isa.alu_cycles(tm, k.iter_out, k.iter_in, k.size),
                            ((isa.C_ALU, k.n_ops),), (k.kid, self.uop_offset[k.kid], extra), thr)
        cnt = () if op == "RESET" else ((isa.C_GEMM, k.n_ops),)
        return isa.Insn(op, isa.COMPUTE, flags, isa.gemm_cycles(tm, k.iter_out, k.iter_in, k.size),
                        cnt, (k.kid, self.uop_offset[k.kid], None), thr)

    def pre(self, b_o, h_o, co_o, w_o, resident) -> list:
        out = []
        for thr, _, _ in self.threads(h_o, co_o):
            k = self.kernels[thr * 5]
            self._uop_load(k, resident, out)
            out.append(self._compute("RESET", k, isa.POP_NEXT, thr))
        return out

    def kstep(self, b_o, h_o, co_o, w_o, ko, resident) -> list:
        hw, wl, t = self.hw, self.wl, self.t
        act = self.threads(h_o, co_o)
        out = []
        b0, ci0 = b_o * t["tile_b"], ko * t["tile_ci"]
        for thr, h, _ in act:
            rows, cols = int(self.rows[h]), int(self.cols[w_o])
            yp0, yp1, xp0, xp1 = (int(self.yp0[h]), int(self.yp1[h]), int(self.xp0[w_o]),
                                  int(self.xp1[w_o]))
            base = ((b0 * self.CIB + ci0) * wl.H + int(self.r_start[h])) * wl.W + int(self.c_start[w_o])
            if wl.pad > 0:
                y, x, stride = rows, cols, wl.W
                pad_e = (yp0 + yp1) * (xp0 + x + xp1) + y * (xp0 + xp1)
            else:
                y, stride, x = as_2d(self.inp_dims)
                pad_e = 0
            cyc, beats, lead = self._dma(y, x, hw.inp_elem_bytes, True, pad_e)  # load_pad_2d
            out.append(isa.Insn("LD_INP", isa.LOAD, isa.POP_NEXT, cyc,
                                ((isa.C_INP, y * x * hw.inp_elem_bytes),),
                                (thr * self.inp_e, base, y, x, stride, yp0, yp1, xp0, xp1),
                                thr, beats, lead))
        wy, wstride, wx = as_2d(self.wgt_dims)
        wcyc, wbeats, wlead = self._dma(wy, wx, hw.wgt_elem_bytes, False)        # load_2d
        for thr, _, co in act:
            base = (co * t["tile_co"] * self.CIB + ci0) * wl.K * wl.K
            out.append(isa.Insn("LD_WGT", isa.LOAD, isa.PUSH_NEXT, wcyc,
                                ((isa.C_WGT, wy * wx * hw.wgt_elem_bytes),),
                                (thr * self.wgt_e, base, wy, wx, wstride, 0, 0, 0, 0),
                                thr, wbeats, wlead))
        for thr, _, _ in act:
            k = self.kernels[thr * 5 + 1]
            self._uop_load(k, resident, out)
            out.append(self._compute("GEMM", k, isa.POP_PREV | isa.PUSH_PREV, thr))
        return out

    def post(self, b_o, h_o, co_o, w_o, resident) -> list:
        hw, wl, t = self.hw, self.wl, self.t
        act = self.threads(h_o, co_o)
        out = []
        for thr, _, _ in act:
            for j, (op, imm) in enumerate(ALU_OPS):
                k = self.kernels[thr * 5 + 2 + j]
                self._uop_load(k, resident, out)
                flags = isa.PUSH_NEXT if j == len(ALU_OPS) - 1 else 0
                out.append(self._compute("ALU", k, flags, thr, (op, imm)))
        y, stride, x = as_2d(self.out_dims)
        cyc, beats, lead = self._dma(y, x, hw.out_elem_bytes, True)                # store

        for thr, h, co in act:
            base = (((b_o * t["tile_b"]) * self.COB + co * t["tile_co"]) * wl.OH
                    + h * t["tile_h"]) * wl.OW + w_o * t["tile_w"]
            out.append(isa.Insn("ST", isa.STORE, isa.POP_PREV | isa.PUSH_PREV, cyc,
                                ((isa.C_OUT, y * x * hw.out_elem_bytes),),
                                (thr * self.acc_e, base, y, x, stride), thr, beats, lead))
        return out

    def stream(self):
        """Every instruction in program order (for the functional executor and tests)."""
        resident: set = set()
        for b in range(self.n_b):
            for h in range(self.n_h_o):
                for co in range(self.n_co_o):
                    for w in range(self.n_w):
                        yield from self.pre(b, h, co, w, resident)
                        for ko in range(self.n_ko):
                            yield from self.kstep(b, h, co, w, ko, resident)
                        yield from self.post(b, h, co, w, resident)

    # ----- hidden features ------------------------------------------------------------------------
    def _inp_rows_total(self) -> float:
        per = self.n_b * self.n_co * self.n_ko
        if self.wl.pad > 0:
            return per * self.n_w * float(self.rows.sum())
        return per * self.n_h * self.n_w * as_2d(self.inp_dims)[0]

    def hidden_features(self) -> dict:
        """What compiling reveals without running: loop trip counts, instruction and micro-op
        counts, pipeline refills, DMA traffic (VTA's counters) and port beats, buffer use and
        token counts."""
        hw, t = self.hw, self.t
        bus = hw.bus_bytes
        slots = self.n_b * self.n_w * self.n_h * self.n_co          # (tile, thread) pairs
        k_reset, k_gemm, k_alu = self.kernels[0], self.kernels[1], self.kernels[2]
        alu_ops = sum(k.n_ops for k in self.kernels[2:5])
        uses = {"reset": slots, "gemm": slots * self.n_ko, "alu": slots}
        if self.uop_cached:
            loaded = [k.size for k in self.kernels]
        else:
            loaded = ([k_reset.size] * uses["reset"] + [k_gemm.size] * uses["gemm"]
                      + [k.size for k in self.kernels[2:5]] * uses["alu"])
        uop_bytes = 4 * sum(loaded)
        uop_beats = sum(isa.row_beats(bus, n, hw.uop_elem_bytes) for n in loaded)
        loads = slots * self.n_ko
        if self.wl.pad > 0:
            col_beats = sum(isa.row_beats(bus, int(c), hw.inp_elem_bytes) for c in self.cols)
            inp_beats = self.n_b * self.n_co * self.n_ko * float(self.rows.sum()) * col_beats
        else:
            y, _, x = as_2d(self.inp_dims)
            inp_beats = loads * y * isa.row_beats(bus, x, hw.inp_elem_bytes)
        wy, _, wx = as_2d(self.wgt_dims)
        oy, _, ox = as_2d(self.out_dims)
        wgt_beats = loads * wy * isa.row_beats(bus, wx, hw.wgt_elem_bytes)
        out_beats = slots * oy * isa.row_beats(bus, ox, hw.out_elem_bytes)
        sum_rows = float(self.rows.sum())
        sum_cols = float(self.cols.sum())
        inp_entries = (self.n_b * self.n_co * self.n_ko * t["tile_b"] * t["tile_ci"]
                       * sum_rows * sum_cols)
        pad_entries = (self.n_b * self.n_co * self.n_ko) * float(
            (self.h_win * self.w_win) * self.n_h * self.n_w - sum_rows * sum_cols)
        f = {
            "trip_b": self.n_b, "trip_h": self.n_h, "trip_w": self.n_w, "trip_co": self.n_co,
            "trip_ci": self.n_ko, "trip_h_outer": self.n_h_o, "trip_co_outer": self.n_co_o,
            "outer_iterations": self.n_b * self.n_h_o * self.n_co_o * self.n_w,
            "insn_ld_inp": loads, "insn_ld_wgt": loads,
            "insn_gemm": loads, "insn_reset": slots, "insn_alu": 3 * slots,
            "insn_store": slots, "insn_ld_uop": len(loaded),
            "uop_gemm": k_gemm.size, "uop_reset": k_reset.size,
            "uop_alu": sum(k.size for k in self.kernels[2:5]),
            "uop_total": self.uop_total, "uop_cached": int(self.uop_cached),
            "gemm_iter_out": k_gemm.iter_out, "gemm_iter_in": k_gemm.iter_in,
            "alu_iter_in": k_alu.iter_in,
            # pipeline fills: one per (it_out, it_in) iteration of every GEMM/ALU instruction
            "gemm_refills": loads * k_gemm.iter_out * k_gemm.iter_in
            + slots * k_reset.iter_out * k_reset.iter_in,
            "alu_refills": slots * sum(k.iter_out * k.iter_in for k in self.kernels[2:5]),
            "inp_load_nbytes": inp_entries * hw.inp_elem_bytes,
            "wgt_load_nbytes": float(loads * self.wgt_e * hw.wgt_elem_bytes),
            "acc_load_nbytes": 0.0, "uop_load_nbytes": float(uop_bytes),
            "out_store_nbytes": float(slots * self.acc_e * hw.out_elem_bytes),
            "gemm_counter": float(loads * k_gemm.n_ops),
            "alu_counter": float(slots * alu_ops),
            "pad_entries": pad_entries,
            "dma_rows_inp": float(self._inp_rows_total()),
            "dma_rows_wgt": float(loads * wy),
            "inp_dma_dims": len(self.inp_dims), "out_dma_dims": len(self.out_dims),
            "port_beats": float(inp_beats + wgt_beats + out_beats + uop_beats),
            "util_inp": self.inp_e * self.nthr / hw.depth("inp"),
            "util_wgt": self.wgt_e * self.nthr / hw.depth("wgt"),
            "util_acc": self.acc_e * self.nthr / hw.depth("acc"),
            "util_uop": min(self.uop_total, hw.depth("uop")) / hw.depth("uop"),
            "tokens_l2c": loads, "tokens_c2l": loads,
            "tokens_c2s": slots, "tokens_s2c": slots,
        }
        f["insn_total"] = sum(v for k, v in f.items() if k.startswith("insn_"))
        f["fetch_beats"] = f["insn_total"] * isa.row_beats(bus, 1, isa.INSN_BYTES)
        f.update(self._static_cycles(f, loads, slots, col_beats if self.wl.pad > 0 else None))
        return {k: float(v) for k, v in f.items()}


    def _static_cycles(self, f: dict, loads: int, slots: int, col_beats) -> dict:
        """Each module's busy cycles summed from the instruction costs, as a compiler's static
        analysis would (no dependencies, no port contention), and the largest of them with the
        port's beats: a lower bound on the run time."""
        hw, tm = self.hw, self.hw.timing
        lat, ovh, row = hw.dma_latency_cycles, tm["insn_overhead"], tm["dma_row_overhead"]
        if self.wl.pad > 0:
            per = self.n_b * self.n_co * self.n_ko
            inp = (per * self.n_h * self.n_w * (ovh + lat) + per * float(self.rows.sum())
                   * (self.n_w * row + col_beats) + f["pad_entries"] * tm["pad_cycles_per_entry"])
        else:
            y, _, x = as_2d(self.inp_dims)
            inp = loads * isa.dma_cost(tm, lat, hw.bus_bytes, y, x, hw.inp_elem_bytes, True)[0]
        wy, _, wx = as_2d(self.wgt_dims)
        oy, _, ox = as_2d(self.out_dims)
        wgt = loads * isa.dma_cost(tm, lat, hw.bus_bytes, wy, wx, hw.wgt_elem_bytes, False)[0]
        store = slots * isa.dma_cost(tm, lat, hw.bus_bytes, oy, ox, hw.out_elem_bytes, True)[0]
        k_reset, k_gemm = self.kernels[0], self.kernels[1]
        compute = (loads * isa.gemm_cycles(tm, k_gemm.iter_out, k_gemm.iter_in, k_gemm.size)
                   + slots * isa.gemm_cycles(tm, k_reset.iter_out, k_reset.iter_in, k_reset.size)
                   + slots * sum(isa.alu_cycles(tm, k.iter_out, k.iter_in, k.size)
                                 for k in self.kernels[2:5])
                   + f["insn_ld_uop"] * (ovh + lat + row) + f["uop_load_nbytes"] / hw.bus_bytes)
        port = f["port_beats"] + f["fetch_beats"]
        bound = max(inp + wgt, compute, store, port)
        return {"static_load_cycles": inp + wgt, "static_compute_cycles": compute,
                "static_store_cycles": store, "static_bound_cycles": bound,
                "static_bound_s": bound / (hw.clock_mhz * 1e6)}


def compile_config(wl: Conv2D, hw: HardwareConfig, config: dict) -> Program:
    """Raises CompileError when the configuration does not lower."""
    return Program(wl, hw, config)

