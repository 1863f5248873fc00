"""Validity comes from VTA's rules applied to the generated program, and valid programs compute
exactly the reference conv2d."""
import numpy as np
import pytest

from ml2tuner.accel.compiler import CompileError, Program, make_space
from ml2tuner.accel.functional import check, execute, random_operands, reference_conv2d
from ml2tuner.accel.hardware import load_hardware
from ml2tuner.accel.workloads import parse_workload

HW = load_hardware("vta-1x16")
C2 = parse_workload("resnet18.C2")
BASE = {"tile_b": 1, "tile_h": 4, "tile_w": 56, "tile_ci": 1, "tile_co": 4, "oc_nthread": 1,
        "h_nthread": 1}


def compile_err(wl, cfg):
    with pytest.raises(CompileError) as e:
        Program(wl, HW, cfg)
    return e.value.kind


def test_valid_config_compiles_and_runs():
    p = Program(C2, HW, BASE)
    assert p.runtime_fault() is None


def test_sram_overflow_counts_virtual_threads():
    cfg = {**BASE, "tile_h": 14, "tile_w": 56, "tile_co": 1}
    p = Program(C2, HW, cfg)                      # fits with one thread ...
    assert p.inp_e <= HW.depth("inp") < 4 * p.inp_e
    assert compile_err(C2, {**cfg, "oc_nthread": 2, "h_nthread": 2}) == "sram_overflow"


def test_padded_input_needs_single_channel_block():
    assert compile_err(C2, {**BASE, "tile_ci": 2}) == "dma_pattern"
    # unpadded 1x1 stride-2 layer: several channel blocks merge only with a one-row window
    c4 = parse_workload("resnet18.C4")
    assert compile_err(c4, {**BASE, "tile_h": 2, "tile_w": 28, "tile_co": 1,
                            "tile_ci": 2}) == "dma_pattern"
    Program(c4, HW, {**BASE, "tile_h": 1, "tile_w": 28, "tile_co": 1, "tile_ci": 2})


def test_store_pattern_rule():
    # tile_co > 1 with tile_w < OW and tile_h > 1 is a 3-D store
    assert compile_err(C2, {**BASE, "tile_h": 2, "tile_w": 28, "tile_co": 2}) == "dma_pattern"
    Program(C2, HW, {**BASE, "tile_h": 1, "tile_w": 28, "tile_co": 2})
    Program(C2, HW, {**BASE, "tile_h": 2, "tile_w": 56, "tile_co": 2})


@pytest.mark.parametrize("co,h,faults", [(1, 1, True), (2, 1, True), (1, 2, True),
                                         (1, 4, False), (4, 1, False)])
def test_uop_dependence_check(co, h, faults):
    # tile_w > 1 keeps the kw/kh reduction unrolled (w and kw are the folded loops)
    p = Program(C2, HW, {**BASE, "tile_h": h, "tile_w": 56, "tile_co": co})
    f = p.runtime_fault()
    assert (f is not None and f.kind == "uop_dependence") == faults


def test_thread_split_that_does_not_divide_is_a_dma_pattern_error():
    c11 = parse_workload("resnet18.C11")      # OH = 7: h tiles of 1 -> 7 tiles, odd
    assert compile_err(c11, {**BASE, "tile_h": 1, "tile_w": 7, "tile_co": 4,
                             "h_nthread": 2}) == "dma_pattern"
    # one h tile for two threads: the second thread would be idle
    assert compile_err(c11, {**BASE, "tile_h": 7, "tile_w": 7, "tile_co": 1,
                             "h_nthread": 2}) == "dma_pattern"
    # C2 has CO/16 = 4 channel blocks: tile_co 4 leaves one co tile for two threads
    assert compile_err(C2, {**BASE, "tile_co": 4, "oc_nthread": 2}) == "dma_pattern"
    Program(C2, HW, {**BASE, "tile_co": 2, "oc_nthread": 2})


def test_every_non_dividing_thread_split_fails_in_whole_spaces():
    for layer in ("resnet18.C2", "resnet18.C11"):
        wl = parse_workload(layer)
        sp = make_space(wl, HW)
        n = 0
        for i in range(len(sp)):
            c = sp.index_to_config(i)
            n_h, n_co = wl.OH // c["tile_h"], wl.OC // 16 // c["tile_co"]
            if n_h % c["h_nthread"] or n_co % c["oc_nthread"]:
                assert compile_err(wl, c) in ("dma_pattern", "sram_overflow"), c
                n += 1
        assert n > 100


def test_alu_is_one_micro_op_over_the_flattened_tile():
    cfg = {**BASE, "tile_h": 4, "tile_w": 56, "tile_co": 2, "oc_nthread": 2}
    p = Program(C2, HW, cfg)
    alu = [k for k in p.kernels if k.name in ("shr", "min", "max")]
    assert [k.name for k in alu] == ["shr", "min", "max"] * 2     # VTA's requantise order
    tile = 4 * 56 * 2
    for k in alu:
        assert (k.size, k.iter_out, k.iter_in) == (1, 1, tile)
    assert p.hidden_features()["uop_alu"] == 3
    assert p.hidden_features()["alu_counter"] == 3 * tile * (56 // 4) * (4 // 2)


def test_tile_b_changes_nothing_for_conv2d_but_does_for_dense():
    from ml2tuner.accel.timing import simulate
    conv = parse_workload("conv2d:N=2,H=6,W=6,IC=32,OC=32,K=3,pad=1,stride=1")
    cfg = {**BASE, "tile_h": 6, "tile_w": 6, "tile_co": 1}
    a, b = Program(conv, HW, {**cfg, "tile_b": 1}), Program(conv, HW, {**cfg, "tile_b": 2})
    assert a.hidden_features() == b.hidden_features()
    assert simulate(a) == simulate(b)
    dense = parse_workload("dense:N=4,IC=64,OC=48")
    cfg = {"tile_b": 1, "tile_ci": 4, "tile_co": 3, "oc_nthread": 1}
    a, b = Program(dense, HW, cfg), Program(dense, HW, {**cfg, "tile_b": 2})
    assert a.hidden_features()["trip_b"] == 4 and b.hidden_features()["trip_b"] == 2


def test_autotvm_index_numbers_the_first_knob_fastest():
    import itertools
    sp = make_space(C2, HW)
    # AutoTVM's ConfigSpace: index = sum(pos_j * prod(len_i for i < j))
    values = [k.values for k in sp.knobs]
    expected = {}
    for n, combo in enumerate(itertools.product(*values[::-1])):
        expected[tuple(combo[::-1])] = n
    for i in range(0, len(sp), 37):
        cfg = sp.index_to_config(i)
        assert sp.autotvm_index(i) == expected[tuple(cfg[k] for k in sp.names)]


def test_invalid_fraction_is_high_like_stock_vta():
    for layer in ("resnet18.C2", "resnet18.C8"):
        wl = parse_workload(layer)
        sp = make_space(wl, HW)
        ok = 0
        for i in range(len(sp)):
            try:
                ok += Program(wl, HW, sp.index_to_config(i)).runtime_fault() is None
            except CompileError:
                pass
        assert 0.6 < 1 - ok / len(sp) < 0.95


SMALL = ["conv2d:H=8,W=8,IC=32,OC=32,K=3,pad=1,stride=1",
         "conv2d:H=9,W=9,IC=32,OC=48,K=3,pad=0,stride=2",
         "conv2d:H=8,W=8,IC=64,OC=32,K=1,pad=0,stride=2",
         "conv2d:N=2,H=6,W=6,IC=32,OC=32,K=3,pad=1,stride=1",
         "dense:N=2,IC=64,OC=64"]


@pytest.mark.parametrize("spec", SMALL)
def test_every_valid_program_computes_the_reference(spec):
    wl = parse_workload(spec)
    sp = make_space(wl, HW)
    n_valid = 0
    for i in range(len(sp)):
        try:
            p = Program(wl, HW, sp.index_to_config(i))
        except CompileError:
            continue
        if p.runtime_fault() is None:
            assert check(p, seed=i), sp.index_to_config(i)
            n_valid += 1
    assert n_valid >= 10


def test_functional_check_detects_a_wrong_program():
    wl = parse_workload(SMALL[0])
    p = Program(wl, HW, {"tile_b": 1, "tile_h": 4, "tile_w": 8, "tile_ci": 1, "tile_co": 1,
                         "oc_nthread": 1, "h_nthread": 1})
    data, weight = random_operands(p, 3)
    good = execute(p, data, weight)
    assert np.array_equal(good, reference_conv2d(data, weight, 1, 1))
    p.kernels[1].uops[:, 1] += 1                     # corrupt the GEMM source indices
    assert not np.array_equal(execute(p, data, weight), good)


def test_dependence_fault_on_small_unrolled_tile():
    """One output row per tile with an unrolled 3x3 reduction repeats the accumulator."""
    wl = parse_workload(SMALL[0])
    p = Program(wl, HW, {"tile_b": 1, "tile_h": 1, "tile_w": 8, "tile_ci": 1, "tile_co": 1,
                         "oc_nthread": 1, "h_nthread": 1})
    assert p.runtime_fault().kind == "uop_dependence"
