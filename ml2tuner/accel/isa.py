"""A VTA-style instruction set: LOAD/GEMM/ALU/STORE with dependency-token flags, and their cost.

Modules: 0 load, 1 compute, 2 store. Token queues (VTA's four): load->compute (l2c),
compute->load (c2l), compute->store (c2s), store->compute (s2c). For an instruction of module m,
"prev" is the module before it in the pipeline and "next" the one after it.

Costs follow the loop structure of VTA's HLS design (apache/tvm-vta hardware/xilinx/src/vta.cc):
- GEMM and ALU run `for it_out: for it_in: for uop in [uop_bgn, uop_end)` with the II=1 (GEMM)
  or II=2 (ALU) pipeline on the innermost loop. The outer bounds are run-time values, so HLS
  cannot flatten them: the pipeline fills and drains on every (it_out, it_in) iteration.
- A DMA moves one burst per 2-D row. `load_pad_2d` (input) and `store` pipeline their row loop;
  `load_2d` (weights, accumulators) does not, so it waits out the DRAM latency on every row.
- Every DMA's data beats cross one AXI port shared by all five masters (fetch, load, compute
  data, compute uop, store; vivado.tcl: axi_smc0 with NUM_SI 5, NUM_MI 1). `beats` is the port
  time an instruction needs; the timing model arbitrates it.
"""
from __future__ import annotations

LOAD, COMPUTE, STORE = 0, 1, 2
POP_PREV, POP_NEXT, PUSH_PREV, PUSH_NEXT = 1, 2, 4, 8

# counter slots: VTA's seven counters
COUNTERS = ("inp_load_nbytes", "wgt_load_nbytes", "acc_load_nbytes", "uop_load_nbytes",
            "out_store_nbytes", "gemm_counter", "alu_counter")
C_INP, C_WGT, C_ACC, C_UOP, C_OUT, C_GEMM, C_ALU = range(7)
OPS = ("LD_INP", "LD_WGT", "LD_UOP", "GEMM", "RESET", "ALU", "ST")

# VTA's instruction field widths (bits) that the compiler must respect
FIELD_BITS = {"sram_base": 16, "dram_base": 32, "y_size": 16, "x_size": 16, "x_stride": 16,
              "pad": 4, "iter": 14, "uop_idx": 14}
INSN_BYTES = 16      # hw_spec.h: every instruction is 128 bits; fetch reads them over the port


class Insn:
    """One instruction. `args` holds what the functional executor needs; `cnt` the counter
    increments (slot, amount); `dur` the cycles it occupies its module when the port is free;
    `thr` the virtual thread whose dependency tokens it pops and pushes; `beats` the data beats
    it moves over the shared port, starting `lead` cycles after it starts."""
    __slots__ = ("op", "mod", "flags", "dur", "cnt", "args", "thr", "beats", "lead")

    def __init__(self, op, mod, flags, dur, cnt, args, thr=0, beats=0, lead=0):
        self.op, self.mod, self.flags, self.dur, self.cnt, self.args = op, mod, flags, dur, cnt, args
        self.thr, self.beats, self.lead = thr, beats, lead

    def __repr__(self):
        return f"Insn({self.op}, mod={self.mod}, thr={self.thr}, flags={self.flags}, dur={self.dur})"


def row_beats(bus_bytes: int, x: int, elem_bytes: int) -> int:
    return -(-x * elem_bytes // bus_bytes)


def dma_cost(t: dict, latency: int, bus_bytes: int, y: int, x: int, elem_bytes: int,
             pipelined_rows: bool, pad_entries: int = 0) -> tuple[int, int, int]:
    """(cycles, port beats, lead) of a 2-D DMA of y rows of x elements. A pipelined row loop
    waits for DRAM once; an unpipelined one (vta.cc load_2d) once per row. Zero padding is
    written into SRAM by the module itself, one entry per cycle (vta.cc reset_mem)."""
    beats = row_beats(bus_bytes, x, elem_bytes)
    per_row = t["dma_row_overhead"] + beats + (0 if pipelined_rows else latency)
    cycles = (t["insn_overhead"] + (latency if pipelined_rows else 0) + y * per_row
              + pad_entries * t["pad_cycles_per_entry"])
    return cycles, y * beats, t["insn_overhead"] + latency


def gemm_cycles(t: dict, iter_out: int, iter_in: int, n_uops: int) -> int:
    """II = 1 over the micro-ops; fill/drain on each of the iter_out x iter_in iterations."""
    return t["insn_overhead"] + iter_out * iter_in * (t["gemm_pipeline_depth"] + n_uops - 1)


def alu_cycles(t: dict, iter_out: int, iter_in: int, n_uops: int) -> int:
    """II = 2 over the micro-ops; fill/drain on each of the iter_out x iter_in iterations."""
    return t["insn_overhead"] + iter_out * iter_in * (t["alu_pipeline_depth"] + 2 * (n_uops - 1))
