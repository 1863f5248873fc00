import numpy as np
import pytest

from ml2tuner.accel.compiler import CompileError, Program, make_space
from ml2tuner.accel.hardware import load_hardware
from ml2tuner.accel.measurer import AccelMeasurer
from ml2tuner.accel.timing import simulate
from ml2tuner.accel.workloads import parse_workload
from ml2tuner.measure import Status


def valid_programs(layer, accel="vta-1x16", step=1):
    hw, wl = load_hardware(accel), parse_workload(layer)
    sp = make_space(wl, hw)
    for i in range(0, len(sp), step):
        try:
            p = Program(wl, hw, sp.index_to_config(i))
        except CompileError:
            continue
        if p.runtime_fault() is None:
            yield p


@pytest.mark.parametrize("layer,accel", [("resnet18.C2", "vta-1x16"), ("resnet18.C7", "vta-1x16"),
                                         ("resnet18.C11", "vta-zcu102")])
def test_no_valid_config_beats_the_roofline(layer, accel):
    n = 0
    for p in valid_programs(layer, accel):
        r = simulate(p)
        c, hw = r.counters, p.hw
        compute = c["gemm_counter"] + 2 * c["alu_counter"]
        # one shared port: loads, stores and micro-op loads together cannot beat its bandwidth
        dma = sum(c[k] for k in ("inp_load_nbytes", "wgt_load_nbytes", "uop_load_nbytes",
                                 "out_store_nbytes")) / hw.bus_bytes
        assert r.cycles >= max(compute, dma)
        assert r.cycles >= r.port_beats
        assert p.wl.flops / (r.cycles / (hw.clock_mhz * 1e6)) / 1e9 <= hw.peak_gflops
        n += 1
    assert n > 30


def test_port_beats_match_compile_time_analysis_and_contention_delays():
    waited = 0
    for p in valid_programs("resnet18.C7", step=3):
        r, hf = simulate(p), p.hidden_features()
        assert r.port_beats == hf["port_beats"] + hf["fetch_beats"]
        waited += r.port_wait > 0
    assert waited > 10           # loads and stores of a DMA-bound layer collide on the port


def test_pipeline_refills_on_every_outer_micro_op_iteration():
    """vta.cc: the II=1 / II=2 loops sit inside the run-time iter_out x iter_in loops, so each
    of those iterations pays the pipeline depth again; an ALU op over a tile is one micro-op
    iterated over the tile, paying the ALU depth per accumulator entry."""
    for p in valid_programs("resnet18.C5", step=7):
        tm, hf = p.hw.timing, p.hidden_features()
        r = simulate(p)
        gemm = hf["gemm_counter"] + hf["gemm_refills"] * (tm["gemm_pipeline_depth"] - 1)
        alu = hf["alu_refills"] * tm["alu_pipeline_depth"]
        n_compute = hf["insn_gemm"] + hf["insn_reset"] + hf["insn_alu"]
        assert hf["alu_refills"] == hf["alu_counter"]
        assert r.busy[1] >= gemm + alu + n_compute * tm["insn_overhead"]
        reset = hf["insn_reset"] * p.kernels[0].n_ops       # RESET runs the GEMM pipeline too
        assert r.busy[1] <= gemm + reset + alu + n_compute * tm["insn_overhead"] + \
            hf["insn_ld_uop"] * (p.hw.dma_latency_cycles + 64) + hf["uop_load_nbytes"] + r.port_wait


SMALL_WORKLOADS = ["conv2d:H=8,W=8,IC=32,OC=32,K=3,pad=1,stride=1",
                   "conv2d:H=8,W=8,IC=64,OC=32,K=1,pad=0,stride=2",
                   "conv2d:N=2,H=6,W=6,IC=32,OC=32,K=3,pad=1,stride=1"]


@pytest.mark.parametrize("spec", SMALL_WORKLOADS + ["resnet18.C11"])
def test_no_thread_touches_a_buffer_its_other_module_still_uses(spec):
    """Per-thread tokens: a load never starts into SRAM that the same thread's previous GEMM is
    still reading, a RESET never overwrites accumulators its store is still reading, a GEMM never
    reads a tile before its loads end, and a store never reads before the ALU ends."""
    from ml2tuner.accel.timing import trace
    n = 0
    for p in valid_programs(spec, step=1 if spec.startswith("conv2d") else 5):
        last_end = {}                      # (op, thread) -> end of the latest such instruction
        for ins, start, end in trace(p):
            thr = ins.thr
            if ins.op in ("LD_INP", "LD_WGT"):
                assert start >= last_end.get(("GEMM", thr), 0)
            elif ins.op == "RESET":
                assert start >= last_end.get(("ST", thr), 0)
            elif ins.op == "GEMM":
                assert start >= last_end[("LD_INP", thr)] and start >= last_end[("LD_WGT", thr)]
            elif ins.op == "ST":
                assert start >= last_end[("ALU", thr)]
            if ins.op != "LD_UOP":
                last_end[(ins.op, thr)] = end
        n += p.nthr > 1
    assert n >= 3


def test_steady_state_jumps_are_exact():
    progs = list(valid_programs("resnet18.C3", step=9))
    assert len(progs) >= 15
    saved = 0
    for p in progs:
        a, b = simulate(p), simulate(p, jump=False)
        assert (a.cycles, a.busy, a.counters, a.insn_counts) == \
            (b.cycles, b.busy, b.counters, b.insn_counts)
        saved += b.simulated_insns - a.simulated_insns
    assert saved > 0


def test_counters_match_compile_time_analysis():
    for p in valid_programs("resnet18.C5", step=11):
        r, hf = simulate(p), p.hidden_features()
        for k in ("inp_load_nbytes", "wgt_load_nbytes", "uop_load_nbytes", "out_store_nbytes",
                  "gemm_counter", "alu_counter"):
            assert r.counters[k] == hf[k], k
        assert sum(r.insn_counts.values()) == hf["insn_total"]


def test_two_virtual_threads_hide_load_latency():
    hw, wl = load_hardware("vta-1x16"), parse_workload("resnet18.C9")
    cfg = {"tile_b": 1, "tile_h": 7, "tile_w": 7, "tile_ci": 1, "tile_co": 1,
           "oc_nthread": 1, "h_nthread": 1}
    one = simulate(Program(wl, hw, cfg))
    assert one.busy[0] > 1.2 * one.busy[1]               # load-bound tile
    two = simulate(Program(wl, hw, {**cfg, "oc_nthread": 2}))
    assert two.cycles < 0.9 * one.cycles
    # ... and one thread overlaps its loads only with its ALU work (the next tile's first loads
    # wait for the last GEMM's token), so it takes at least loads + GEMMs
    p = Program(wl, hw, cfg)
    hf, tm = p.hidden_features(), hw.timing
    alu = hf["alu_refills"] * tm["alu_pipeline_depth"] + hf["insn_alu"] * tm["insn_overhead"]
    assert one.cycles >= 0.95 * (one.busy[0] + one.busy[1] - alu - one.counters["uop_load_nbytes"])


def test_measurer_statuses_profile_time_and_determinism():
    m = AccelMeasurer("vta-1x16", "resnet18.C9")
    res = m.measure(np.arange(len(m.space)))
    by = {s: [r for r in res if r.status == s] for s in Status}
    assert by[Status.OK] and by[Status.COMPILE_ERROR] and by[Status.RUNTIME_ERROR]
    prof = m.hw.profiling
    for r in by[Status.COMPILE_ERROR]:
        assert r.profile_time == prof["compile_fail_s"] and r.cost is None and not r.hidden
    for r in by[Status.OK]:
        assert r.profile_time > prof["compile_base_s"] + prof["repeats"] * r.cost
        assert r.gflops == pytest.approx(m.flops / r.cost / 1e9)
        assert r.hidden["gemm_counter"] == r.counters["gemm_counter"]
    assert min(r.profile_time for r in by[Status.RUNTIME_ERROR]) > prof["runtime_error_s"]
    again = AccelMeasurer("vta-1x16", "resnet18.C9").measure(np.arange(len(m.space)))
    assert [r.to_record() for r in again] == [r.to_record() for r in res]
    hid = m.hidden_features([r.index for r in res[:40]])
    assert all((h is None) == (r.status == Status.COMPILE_ERROR) for h, r in zip(hid, res))


def test_measurement_noise_is_seeded_and_order_independent():
    ok = [r.index for r in AccelMeasurer("vta-1x16", "resnet18.C9").measure(range(480)) if r.valid]
    a = AccelMeasurer("vta-1x16", "resnet18.C9", noise=0.05, seed=3)
    b = AccelMeasurer("vta-1x16", "resnet18.C9", noise=0.05, seed=3)
    ca = [r.cost for r in a.measure(ok)]
    cb = [r.cost for r in b.measure(ok[::-1])][::-1]
    assert ca == cb
    exact = [r.cost for r in AccelMeasurer("vta-1x16", "resnet18.C9").measure(ok)]
    rel = np.array(ca) / np.array(exact)
    assert 0.9 < rel.mean() < 1.1 and rel.std() > 0.01
    assert a.measure(ok[:1])[0].cost != ca[0]             # a repeat visit draws new noise


def test_timeout_status_from_a_user_accelerator(tmp_path):
    import json

    from ml2tuner.accel.hardware import ACCEL_DIR
    d = json.loads((ACCEL_DIR / "vta-1x16.json").read_text())
    d.update(name="slow-board", profiling={"timeout_s": 0.003, "runtime_error_s": 1.0})
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(d))
    fast = AccelMeasurer("vta-1x16", "resnet18.C9").measure(range(480))
    slow = AccelMeasurer(str(path), "resnet18.C9").measure(range(480))
    for f, s in zip(fast, slow):
        if f.valid and f.cost > 0.003:
            assert s.status == Status.TIMEOUT and s.cost is None
            assert s.profile_time == pytest.approx(f.profile_time - 10 * (f.cost + 0.002)
                                                   + 0.003, rel=1e-9)
        else:
            assert s.status == f.status
    assert sum(s.status == Status.TIMEOUT for s in slow) > 0
