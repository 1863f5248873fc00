"""A VTA-style instruction set: LOAD/GEMM/ALU/STORE with dependency-token flags, and their cost.

Modules: 0 load, 1 compute, 2 store. Token queues (VTA's four): load->compute (l2c),
compute->load (c2l), compute->store (c2s), store->compute (s2c). For an instruction of module m,
"prev" is the module before it in the pipeline and "next" the one after it.
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


class Insn:
    """One instruction. `args` holds what the functional executor needs; `cnt` the counter
    increments (slot, amount); `dur` the cycles it occupies its module."""
    __slots__ = ("op", "mod", "flags", "dur", "cnt", "args")

    def __init__(self, op, mod, flags, dur, cnt, args):
        self.op, self.mod, self.flags, self.dur, self.cnt, self.args = op, mod, flags, dur, cnt, args

    def __repr__(self):
        return f"Insn({self.op}, mod={self.mod}, flags={self.flags}, dur={self.dur})"


def dma_cycles(t: dict, bus_bytes: int, y: int, x: int, elem_bytes: int, pad_entries: int = 0):
    row_beats = -(-x * elem_bytes // bus_bytes)
    return (t["insn_overhead"] + t["dma_latency"] + y * (t["dma_row_overhead"] + row_beats)
            + pad_entries * t["pad_cycles_per_entry"])


def gemm_cycles(t: dict, n_ops: int) -> int:
    return t["insn_overhead"] + t["gemm_pipeline"] + n_ops          # II = 1


def alu_cycles(t: dict, n_ops: int) -> int:
    return t["insn_overhead"] + t["alu_pipeline"] + 2 * n_ops      # II = 2
