"""VTA-style hardware descriptions (the fields of VTA's vta_config.json plus a timing model).

Descriptions live in the top-level `accel/` folder as JSON; `load_hardware` takes a name from
there or a path to a user's own file. Every field is checked and a malformed file is reported
with the field's name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

ACCEL_DIR = Path(__file__).resolve().parents[2] / "accel"

_LOG_FIELDS = ("LOG_INP_WIDTH", "LOG_WGT_WIDTH", "LOG_ACC_WIDTH", "LOG_BATCH", "LOG_BLOCK",
               "LOG_UOP_BUFF_SIZE", "LOG_INP_BUFF_SIZE", "LOG_WGT_BUFF_SIZE", "LOG_ACC_BUFF_SIZE")

# Timing constants (clock cycles unless the name says ns); a description may override any of
# them. Where VTA's sources fix a number it is cited; the rest are estimates (VTA publishes no
# HLS latency report) and say so.
DEFAULT_TIMING = {
    # DRAM read/write round trip before a burst's first beat, through the shared SmartConnect
    # (vivado.tcl: axi_smc0, 5 masters -> 1) and the PS port (S_AXI_ACP on Zynq-7000,
    # S_AXI_HPC0 on Zynq UltraScale+). Estimate: ~300 ns for a DDR access from the PL; stated
    # in ns so that a faster fabric clock waits more cycles for the same DRAM.
    "dma_latency_ns": 300,
    # AXI address phase + HLS loop control for each burst (one burst per 2-D row: vta.cc
    # load_2d/load_pad_2d/store issue one memcpy per row). Estimate.
    "dma_row_overhead": 4,
    # reset_mem in vta.cc writes one SRAM entry per loop iteration when padding on the fly.
    "pad_cycles_per_entry": 1,
    # Depth of the II=1 READ_GEMM_UOP pipeline in vta.cc gemm(): uop BRAM read, index add,
    # inp/wgt/acc BRAM reads (blk_mem_gen without output registers, vivado.tcl), int8 multiply
    # in DSPs, a BLOCK_IN-wide adder tree, accumulate, write back. Estimate.
    "gemm_pipeline_depth": 9,
    # Depth of the II=2 READ_ALU_UOP pipeline in vta.cc alu(): uop read, index add, two acc
    # reads, the op, write back. Estimate.
    "alu_pipeline_depth": 6,
    # Pop of the instruction from its module's command FIFO, decode and token handshakes
    # (vta.cc load()/compute()/store() prologue). Estimate.
    "insn_overhead": 2,
}
DEFAULT_PROFILING = {
    "compile_base_s": 0.6,    # lowering + codegen of a schedule
    "compile_per_kuop_s": 0.2,  # codegen grows with the unrolled micro-op kernels
    "compile_fail_s": 0.25,   # a config that fails to lower fails early
    "upload_s": 0.3,          # RPC upload of the module
    "repeats": 10,            # runs per measurement (AutoTVM number*repeat)
    "run_overhead_s": 0.002,  # per-run launch/sync cost
    "runtime_error_s": 4.0,   # a crashed run: board reset and reconnect
    "timeout_s": 10.0,        # a run longer than this is killed
}


@dataclass(frozen=True)
class HardwareConfig:
    name: str
    log: dict
    clock_mhz: float
    bus_bits: int
    timing: dict = field(default_factory=lambda: dict(DEFAULT_TIMING))
    profiling: dict = field(default_factory=lambda: dict(DEFAULT_PROFILING))
    description: str = ""

    # ----- derived sizes (VTA's rules) -------------------------------------------------------
    @property
    def batch(self) -> int:
        return 1 << self.log["LOG_BATCH"]

    @property
    def block(self) -> int:
        return 1 << self.log["LOG_BLOCK"]

    block_in = block_out = block

    @property
    def inp_elem_bytes(self) -> int:
        return self.batch * self.block * (1 << self.log["LOG_INP_WIDTH"]) // 8

    @property
    def wgt_elem_bytes(self) -> int:
        return self.block * self.block * (1 << self.log["LOG_WGT_WIDTH"]) // 8

    @property
    def acc_elem_bytes(self) -> int:
        return self.batch * self.block * (1 << self.log["LOG_ACC_WIDTH"]) // 8

    @property
    def out_elem_bytes(self) -> int:
        return self.batch * self.block * (1 << self.log["LOG_INP_WIDTH"]) // 8

    uop_elem_bytes = 4

    def depth(self, buf: str) -> int:
        """Number of entries of an on-chip buffer: 'uop', 'inp', 'wgt' or 'acc'."""
        size = 1 << self.log[f"LOG_{buf.upper()}_BUFF_SIZE"]
        elem = {"uop": self.uop_elem_bytes, "inp": self.inp_elem_bytes,
                "wgt": self.wgt_elem_bytes, "acc": self.acc_elem_bytes}[buf]
        return size // elem

    @property
    def bus_bytes(self) -> int:
        return self.bus_bits // 8

    @property
    def dma_latency_cycles(self) -> int:
        return math.ceil(self.timing["dma_latency_ns"] * self.clock_mhz / 1000)

    @property
    def peak_gflops(self) -> float:
        return 2 * self.batch * self.block * self.block * self.clock_mhz * 1e6 / 1e9

    def to_dict(self) -> dict:
        d = {"name": self.name, "description": self.description}
        d.update(self.log)
        d.update(clock_mhz=self.clock_mhz, bus_bits=self.bus_bits, timing=dict(self.timing),
                 profiling=dict(self.profiling))
        return d

    def descriptor(self) -> dict:
        """Numbers that describe the accelerator to a model spanning accelerators."""
        return {"hw_log_batch": self.log["LOG_BATCH"], "hw_log_block": self.log["LOG_BLOCK"],
                "hw_inp_depth": self.depth("inp"), "hw_wgt_depth": self.depth("wgt"),
                "hw_acc_depth": self.depth("acc"), "hw_uop_depth": self.depth("uop"),
                "hw_clock_mhz": self.clock_mhz, "hw_bus_bits": self.bus_bits}


def hardware_from_dict(d: dict, source: str = "<dict>") -> HardwareConfig:
    def bad(fieldname, why):
        raise UserError(f"{source}: field {fieldname!r} {why}")

    if not isinstance(d, dict):
        raise UserError(f"{source}: an accelerator description must be a JSON object")
    for key in ("name",) + _LOG_FIELDS + ("clock_mhz", "bus_bits"):
        if key not in d:
            bad(key, "is missing")
    if not isinstance(d["name"], str) or not d["name"].strip():
        bad("name", "must be a non-empty string")
    log = {}
    for key in _LOG_FIELDS:
        v = d[key]
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 24:
            bad(key, f"must be an integer in 0..24, got {v!r}")
        log[key] = v
    if log["LOG_INP_WIDTH"] != 3 or log["LOG_WGT_WIDTH"] != 3 or log["LOG_ACC_WIDTH"] != 5:
        bad("LOG_INP_WIDTH", "must be 3 with LOG_WGT_WIDTH 3 and LOG_ACC_WIDTH 5 "
                             "(this model computes int8 x int8 -> int32 like stock VTA)")
    clock = d["clock_mhz"]
    if not _finite(clock) or not 1 <= clock <= 10_000:
        bad("clock_mhz", f"must be a finite number of MHz in 1..10000, got {clock!r}")
    bus = d["bus_bits"]
    if not isinstance(bus, int) or isinstance(bus, bool) or not 8 <= bus <= 4096 \
            or bus & (bus - 1):
        bad("bus_bits", f"must be a power of two from 8 to 4096 (an AXI data width), got {bus!r}")
    if "description" in d and not isinstance(d["description"], str):
        bad("description", "must be a string")
    timing, profiling = dict(DEFAULT_TIMING), dict(DEFAULT_PROFILING)
    for section, table in (("timing", timing), ("profiling", profiling)):
        user = d.get(section, {})
        if not isinstance(user, dict):
            bad(section, "must be a JSON object")
        for k, v in user.items():
            if k not in table:
                bad(f"{section}.{k}", f"is unknown (known: {', '.join(table)})")
            # no event takes a million cycles, no profiling step a day
            limit = 1e6 if section == "timing" else 86_400
            if not _finite(v) or not 0 <= v <= limit:
                bad(f"{section}.{k}", f"must be a finite number in 0..{limit:g}, got {v!r}")
            table[k] = v
    if not isinstance(profiling["repeats"], int) or profiling["repeats"] < 1:
        bad("profiling.repeats", f"must be an integer >= 1, got {profiling['repeats']!r}")
    if profiling["timeout_s"] <= 0:
        bad("profiling.timeout_s", "must be positive")
    hw = HardwareConfig(name=d["name"], log=log, clock_mhz=float(clock),
                        bus_bits=int(bus), timing=timing, profiling=profiling,
                        description=str(d.get("description", "")))
    for buf in ("uop", "inp", "wgt", "acc"):
        if hw.depth(buf) < 1:
            bad(f"LOG_{buf.upper()}_BUFF_SIZE", "is too small to hold one element")
    return hw


def available_accelerators() -> list[str]:
    return sorted(p.stem for p in ACCEL_DIR.glob("*.json"))


def load_hardware(name_or_path) -> HardwareConfig:
    """An accelerator by name (a file in `accel/`) or by path to a JSON description."""
    if isinstance(name_or_path, HardwareConfig):
        return name_or_path
    s = str(name_or_path)
    if not s.strip():
        raise UserError("empty accelerator name; known: "
                        f"{', '.join(available_accelerators())} (or give a path to a JSON file)")
    path = Path(s)
    if not (s.endswith(".json") or path.exists()):
        path = ACCEL_DIR / f"{s}.json"
        if not path.exists():
            raise UserError(f"unknown accelerator {s!r}; known: "
                            f"{', '.join(available_accelerators())} (or give a path to a JSON file)")
    from ..validate import read_json_file
    return hardware_from_dict(read_json_file(path, "accelerator file"), source=str(path))


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
