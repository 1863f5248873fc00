"""Compile a conv2d/dense schedule configuration into a VTA-style program.

The schedule is AutoTVM's `conv2d_packed.vta`: the output is tiled by (tile_b, tile_h, tile_w,
tile_co) with loop order (b, h, co, w); the reduction over input-channel blocks is tiled by
tile_ci, and the input window and weights of each reduction tile are loaded by one 2-D DMA each.
Virtual threads (oc_nthread x h_nthread) split the outer co and h loops, replicate every
on-chip buffer and interleave their instruction streams so that one thread's loads overlap
another thread's compute. Layouts are VTA's packed ones: inp [N/B][CI/BI][H][W](B,BI),
wgt [CO/BO][CI/BI][K][K](BO,BI), out [N/B][CO/BO][OH][OW](B,BO).

A configuration fails to compile (`CompileError`) when a buffer overflows, a DMA is not one
2-D transfer or an instruction field overflows; it fails at run time (`RuntimeFault`) when a
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


ALU_OPS = (("shr", 8), ("max", 0), ("min", 127))   # requantise: >> 8, clip to [0, 127]


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
        self.hth, self.octh = t["h_nthread"], t["oc_nthread"]
        self.nthr = self.hth * self.octh
        s, K = wl.stride, wl.K
        self.h_win, self.w_win = (th - 1) * s + K, (tw - 1) * s + K
        self.n_b, self.n_h, self.n_w = nb // tb, wl.OH // th, wl.OW // tw
        self.n_co, self.n_ko = cob // tco, cib // tci
        self.n_h_o, self.n_co_o = -(-self.n_h // self.hth), -(-self.n_co // self.octh)
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
        for buf, need in (("acc", self.acc_e), ("inp", self.inp_e), ("wgt", self.wgt_e)):
            total, depth = need * self.nthr, self.hw.depth(buf)
            if total > depth:
                raise CompileError("sram_overflow", f"{buf} buffer overflow: {need} entries x "
                                   f"{self.nthr} virtual threads = {total} > depth {depth}")

    def _plan_dma(self):
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
        alu_loops = [(tb, (tco * th * tw, tco * th * tw, 0)), (tco, (th * tw, th * tw, 0)),
                     (th, (tw, tw, 0)), (tw, (1, 1, 0))]
        self.kernels = []   # per thread: reset, gemm, alu x3
        for thr in range(self.nthr):
            base = (thr * self.acc_e, thr * self.inp_e, thr * self.wgt_e)
            alu_base = (thr * self.acc_e, thr * self.acc_e, 0)
            ks = [build_kernel(len(self.kernels), "reset", reset_loops, base),
                  build_kernel(len(self.kernels) + 1, "gemm", gemm_loops, base)]
            for j, (op, _) in enumerate(ALU_OPS):
                ks.append(build_kernel(len(self.kernels) + 2 + j, op, alu_loops, alu_base))
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

    def runtime_fault(self) -> RuntimeFault | None:
        """What VTA's runtime would reject when it builds and runs the micro-op kernels."""
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
        """Active (thread, h tile, co tile) of an outer iteration; guarded-off threads skipped."""
        out = []
        for hv in range(self.hth):
            for cv in range(self.octh):
                h, co = h_o * self.hth + hv, co_o * self.octh + cv
                if h < self.n_h and co < self.n_co:
                    out.append((hv * self.octh + cv, h, co))
        return out

    def level_class(self, level: int, i: int):
        """Iterations of a loop level with equal class have identical instruction timing."""
        if level == 1:
            return tuple((h >= self.n_h) or (int(self.yp0[h]), int(self.yp1[h]))
                         for h in range(i * self.hth, (i + 1) * self.hth))
        if level == 2:
            return tuple(co >= self.n_co for co in range(i * self.octh, (i + 1) * self.octh))
        if level == 3:
            return int(self.xp0[i]), int(self.xp1[i])
        return 0

    # ----- instruction generation ----------------------------------------------------------------
    def _uop_load(self, k: Kernel, resident: set, out: list):
        if self.uop_cached and k.kid in resident:
            return
        resident.add(k.kid)
        hw = self.hw
        nbytes = k.size * hw.uop_elem_bytes
        out.append(isa.Insn("LD_UOP", isa.COMPUTE, 0,
                            isa.dma_cycles(hw.timing, hw.bus_bytes, 1, k.size, hw.uop_elem_bytes),
                            ((isa.C_UOP, nbytes),), (k.kid, self.uop_offset[k.kid])))

    def _compute(self, op, k: Kernel, flags, extra=None) -> isa.Insn:
        tm = self.hw.timing
        if op == "ALU":
            return isa.Insn("ALU", isa.COMPUTE, flags, isa.alu_cycles(tm, k.n_ops),
                            ((isa.C_ALU, k.n_ops),), (k.kid, self.uop_offset[k.kid], extra))
        cnt = () if op == "RESET" else ((isa.C_GEMM, k.n_ops),)
        return isa.Insn(op, isa.COMPUTE, flags, isa.gemm_cycles(tm, k.n_ops), cnt,
                        (k.kid, self.uop_offset[k.kid], None))

    def pre(self, b_o, h_o, co_o, w_o, resident) -> list:
        out = []
        for thr, _, _ in self.threads(h_o, co_o):
            k = self.kernels[thr * 5]
            self._uop_load(k, resident, out)
            out.append(self._compute("RESET", k, isa.POP_NEXT))
        return out

    def kstep(self, b_o, h_o, co_o, w_o, ko, resident) -> list:
        hw, tm, wl, t = self.hw, self.hw.timing, self.wl, self.t
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
            cyc = isa.dma_cycles(tm, hw.bus_bytes, y, x, hw.inp_elem_bytes, pad_e)
            out.append(isa.Insn("LD_INP", isa.LOAD, isa.POP_NEXT, cyc,
                                ((isa.C_INP, y * x * hw.inp_elem_bytes),),
                                (thr * self.inp_e, base, y, x, stride, yp0, yp1, xp0, xp1)))
        wy, wstride, wx = as_2d(self.wgt_dims)
        wcyc = isa.dma_cycles(tm, hw.bus_bytes, wy, wx, hw.wgt_elem_bytes)
        for thr, _, co in act:
            base = (co * t["tile_co"] * self.CIB + ci0) * wl.K * wl.K
            out.append(isa.Insn("LD_WGT", isa.LOAD, isa.PUSH_NEXT, wcyc,
                                ((isa.C_WGT, wy * wx * hw.wgt_elem_bytes),),
                                (thr * self.wgt_e, base, wy, wx, wstride, 0, 0, 0, 0)))
        for thr, _, _ in act:
            k = self.kernels[thr * 5 + 1]
            self._uop_load(k, resident, out)
            out.append(self._compute("GEMM", k, isa.POP_PREV | isa.PUSH_PREV))
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
                out.append(self._compute("ALU", k, flags, (op, imm)))
        y, stride, x = as_2d(self.out_dims)
        cyc = isa.dma_cycles(hw.timing, hw.bus_bytes, y, x, hw.out_elem_bytes)
        for thr, h, co in act:
            base = (((b_o * t["tile_b"]) * self.COB + co * t["tile_co"]) * wl.OH
                    + h * t["tile_h"]) * wl.OW + w_o * t["tile_w"]
            out.append(isa.Insn("ST", isa.STORE, isa.POP_PREV | isa.PUSH_PREV, cyc,
                                ((isa.C_OUT, y * x * hw.out_elem_bytes),),
                                (thr * self.acc_e, base, y, x, stride)))
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
        """What compiling reveals without running: loop trip counts, guards, instruction and
        micro-op counts, DMA traffic (VTA's counters), buffer use and token counts."""
        hw, t, wl = self.hw, self.t, self.wl
        slots = self.n_b * self.n_w * self.n_h * self.n_co          # active (tile, thread) pairs
        all_slots = self.n_b * self.n_w * self.n_h_o * self.hth * self.n_co_o * self.octh
        n_dummy = self.nthr - min(self.hth, self.n_h) * min(self.octh, self.n_co)
        k_reset, k_gemm = self.kernels[0], self.kernels[1]
        alu_uops = sum(k.size for k in self.kernels[2:5])
        alu_ops = sum(k.n_ops for k in self.kernels[2:5])
        uses = {"reset": slots, "gemm": slots * self.n_ko, "alu": slots}
        if self.uop_cached:
            n_ld_uop = len(self.kernels) - n_dummy * 5
            uop_bytes = sum(k.size for k in self.kernels[:(self.nthr - n_dummy) * 5]) * 4
        else:
            n_ld_uop = uses["reset"] + uses["gemm"] + 3 * uses["alu"]
            uop_bytes = 4 * (uses["reset"] * k_reset.size + uses["gemm"] * k_gemm.size
                             + uses["alu"] * alu_uops)
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
            "guard_branches": int(self.n_h % self.hth != 0) + int(self.n_co % self.octh != 0),
            "partial_tiles": all_slots - slots, "dummy_threads": n_dummy,
            "insn_ld_inp": slots * self.n_ko, "insn_ld_wgt": slots * self.n_ko,
            "insn_gemm": slots * self.n_ko, "insn_reset": slots, "insn_alu": 3 * slots,
            "insn_store": slots, "insn_ld_uop": n_ld_uop,
            "uop_gemm": k_gemm.size, "uop_reset": k_reset.size, "uop_alu": alu_uops,
            "uop_total": self.uop_total, "uop_cached": int(self.uop_cached),
            "gemm_iter_out": k_gemm.iter_out, "gemm_iter_in": k_gemm.iter_in,
            "inp_load_nbytes": inp_entries * hw.inp_elem_bytes,
            "wgt_load_nbytes": float(slots * self.n_ko * self.wgt_e * hw.wgt_elem_bytes),
            "acc_load_nbytes": 0.0, "uop_load_nbytes": float(uop_bytes),
            "out_store_nbytes": float(slots * self.acc_e * hw.out_elem_bytes),
            "gemm_counter": float(slots * self.n_ko * k_gemm.n_ops),
            "alu_counter": float(slots * alu_ops),
            "pad_entries": pad_entries,
            "dma_rows_inp": float(self._inp_rows_total()),
            "inp_dma_dims": len(self.inp_dims), "out_dma_dims": len(self.out_dims),
            "util_inp": self.inp_e * self.nthr / hw.depth("inp"),
            "util_wgt": self.wgt_e * self.nthr / hw.depth("wgt"),
            "util_acc": self.acc_e * self.nthr / hw.depth("acc"),
            "util_uop": min(self.uop_total, hw.depth("uop")) / hw.depth("uop"),
            "tokens_l2c": slots * self.n_ko, "tokens_c2l": slots * self.n_ko,
            "tokens_c2s": slots, "tokens_s2c": slots,
        }
        f["insn_total"] = sum(v for k, v in f.items() if k.startswith("insn_"))
        return {k: float(v) for k, v in f.items()}


def compile_config(wl: Conv2D, hw: HardwareConfig, config: dict) -> Program:
    """Raises CompileError when the configuration does not lower."""
    return Program(wl, hw, config)

