"""Functional check: execute a compiled program on int8 data and compare with a reference conv2d.

The executor interprets the instruction stream against model DRAM and SRAM arrays exactly as
the hardware would (2-D DMA with zero padding, micro-op kernels read from the uop buffer,
GEMM as int8 x int8 -> int32, ALU on the accumulator, store narrowing to int8). A valid
program must reproduce the reference bit for bit.
"""
from __future__ import annotations

import numpy as np

from .compiler import Program


def reference_conv2d(data, weight, stride: int, pad: int):
    """NCHW int8 data, OIHW int8 weights -> int32 conv, then VTA's >>8, clip [0,127], int8."""
    n, c, h, w = data.shape
    o, _, k, _ = weight.shape
    x = np.pad(data.astype(np.int32), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    acc = np.zeros((n, o, oh, ow), dtype=np.int32)
    wt = weight.astype(np.int32)
    for di in range(k):
        for dj in range(k):
            patch = x[:, :, di:di + stride * oh:stride, dj:dj + stride * ow:stride]
            acc += np.einsum("nchw,oc->nohw", patch, wt[:, :, di, dj])
    return np.clip(acc >> 8, 0, 127).astype(np.int8)


def pack(prog: Program, data, weight):
    """NCHW/OIHW -> VTA's blocked DRAM layouts, as entry arrays."""
    hw = prog.hw
    B, BI, BO = hw.batch, hw.block_in, hw.block_out
    n, c, h, w = data.shape
    inp = data.reshape(n // B, B, c // BI, BI, h, w).transpose(0, 2, 4, 5, 1, 3)
    inp = inp.reshape(-1, B, BI)
    o, _, k, _ = weight.shape
    wgt = weight.reshape(o // BO, BO, c // BI, BI, k, k).transpose(0, 2, 4, 5, 1, 3)
    return inp.copy(), wgt.reshape(-1, BO, BI).copy()


def unpack_out(prog: Program, out):
    hw, wl = prog.hw, prog.wl
    B, BO = hw.batch, hw.block_out
    o = out.reshape(wl.N // B, wl.OC // BO, wl.OH, wl.OW, B, BO).transpose(0, 4, 1, 5, 2, 3)
    return o.reshape(wl.N, wl.OC, wl.OH, wl.OW)


def execute(prog: Program, data, weight):
    """Run the program on NCHW int8 `data` and OIHW int8 `weight`; returns NCHW int8 output."""
    hw = prog.hw
    inp_dram, wgt_dram = pack(prog, data, weight)
    out_dram = np.zeros((prog.NB * prog.COB * prog.wl.OH * prog.wl.OW, hw.batch, hw.block_out),
                        dtype=np.int8)
    inp_sram = np.zeros((hw.depth("inp"), hw.batch, hw.block_in), dtype=np.int8)
    wgt_sram = np.zeros((hw.depth("wgt"), hw.block_out, hw.block_in), dtype=np.int8)
    acc = np.zeros((hw.depth("acc"), hw.batch, hw.block_out), dtype=np.int32)
    uop_sram = np.full((hw.depth("uop"), 3), -1, dtype=np.int64)
    kernels = {k.kid: k for k in prog.kernels}
    for ins in prog.stream():
        op, a = ins.op, ins.args
        if op in ("LD_INP", "LD_WGT"):
            sram, dram = (inp_sram, inp_dram) if op == "LD_INP" else (wgt_sram, wgt_dram)
            _dma_load(sram, dram, *a)
        elif op == "LD_UOP":
            k = kernels[a[0]]
            uop_sram[a[1]:a[1] + k.size] = k.uops
        elif op in ("GEMM", "RESET", "ALU"):
            k = kernels[a[0]]
            uops = uop_sram[a[1]:a[1] + k.size]   # what the buffer holds, not the kernel object
            idx = (uops[None, None, :, :]
                   + np.arange(k.iter_out)[:, None, None, None] * np.array(k.f_out)
                   + np.arange(k.iter_in)[None, :, None, None] * np.array(k.f_in)).reshape(-1, 3)
            dst, src, wt = idx[:, 0], idx[:, 1], idx[:, 2]
            if op == "RESET":
                acc[dst] = 0
            elif op == "GEMM":
                prod = np.einsum("mbi,moi->mbo", inp_sram[src].astype(np.int32),
                                 wgt_sram[wt].astype(np.int32))
                np.add.at(acc, dst, prod)
            else:
                alu, imm = a[2]
                if alu == "shr":
                    acc[dst] = acc[dst] >> imm
                elif alu == "max":
                    acc[dst] = np.maximum(acc[dst], imm)
                else:
                    acc[dst] = np.minimum(acc[dst], imm)
        elif op == "ST":
            sram_base, dram_base, y, x, stride = a
            tile = acc[sram_base:sram_base + y * x].astype(np.int8).reshape(y, x, *acc.shape[1:])
            for r in range(y):
                out_dram[dram_base + r * stride:dram_base + r * stride + x] = tile[r]
        else:
            raise AssertionError(f"unknown instruction {op}")
    return unpack_out(prog, out_dram)


def _dma_load(sram, dram, sram_base, dram_base, y, x, stride, yp0, yp1, xp0, xp1):
    width = xp0 + x + xp1
    rows = yp0 + y + yp1
    tile = np.zeros((rows, width) + sram.shape[1:], dtype=sram.dtype)
    for r in range(y):
        tile[yp0 + r, xp0:xp0 + x] = dram[dram_base + r * stride:dram_base + r * stride + x]
    sram[sram_base:sram_base + rows * width] = tile.reshape(-1, *sram.shape[1:])


def random_operands(prog: Program, seed: int = 0):
    """int8 data and weights with the full range, so every index mistake shows."""
    wl = prog.wl
    rng = np.random.default_rng(seed)
    data = rng.integers(-128, 128, size=(wl.N, wl.IC, wl.H, wl.W), dtype=np.int8)
    weight = rng.integers(-128, 128, size=(wl.OC, wl.IC, wl.K, wl.K), dtype=np.int8)
    return data, weight


def check(prog: Program, seed: int = 0) -> bool:
    """True when the program's output equals the reference conv2d exactly."""
    data, weight = random_operands(prog, seed)
    want = reference_conv2d(data, weight, prog.wl.stride, prog.wl.pad)
    return bool(np.array_equal(execute(prog, data, weight), want))
