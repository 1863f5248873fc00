"""One simulated clock: every compile once per configuration, every profile, the same for every
tuner and for replay; schema-2 traces let anyone audit it."""
import gzip
import json
import subprocess
import sys

import numpy as np
import pytest

from ml2tuner.accel.compiler import CompileError, Program
from ml2tuner.accel.measurer import AccelMeasurer
from ml2tuner.kt_cache import from_trace
from ml2tuner.measure import Status
from ml2tuner.replay import ReplayMeasurer
from ml2tuner.traces import make_header, read_trace, write_trace
from ml2tuner.tuners import make_tuner
from ml2tuner.tuners.features import ItervarFeatures

LAYER = "resnet18.C9"


def _expected_compile(m, i):
    """Compile time from the profiling constants, derived independently of the measurer."""
    prof = m.hw.profiling
    try:
        prog = Program(m.wl, m.hw, m.space.index_to_config(i))
    except CompileError:
        return prof["compile_fail_s"], False
    return prof["compile_base_s"] + prof["compile_per_kuop_s"] * prog.uop_total / 1000, True


@pytest.fixture(scope="module")
def c9():
    m = AccelMeasurer("vta-1x16", LAYER)
    return m.measure(range(len(m.space)))


def test_compile_charged_once_then_only_the_run(c9):
    ok = next(r.index for r in c9 if r.valid)
    bad = next(r.index for r in c9 if r.status == Status.COMPILE_ERROR)
    m = AccelMeasurer("vta-1x16", LAYER)
    events = []
    m.sim_clock.listeners.append(events.append)
    ct_ok, _ = _expected_compile(m, ok)
    ct_bad, compiles = _expected_compile(m, bad)
    assert not compiles
    m.hidden_features([ok, bad, ok])                  # the repeat is not charged again
    assert [e["index"] for e in events] == [ok, bad]
    assert m.sim_clock.seconds == pytest.approx(ct_ok + ct_bad)
    r_ok, r_bad = m.measure([ok, bad])
    prof = m.hw.profiling
    run = prof["upload_s"] + prof["repeats"] * (r_ok.cost + prof["run_overhead_s"])
    assert r_ok.profile_time == pytest.approx(run)    # compiled earlier: only the run part
    assert r_bad.profile_time == 0.0                  # a known compile failure is never run
    assert r_ok.compile_time == pytest.approx(ct_ok) and r_ok.run_time == pytest.approx(run)
    assert m.sim_clock.seconds == pytest.approx(ct_ok + ct_bad + run) == r_bad.clock
    # a fresh measurement pays both parts; a failure its compile time
    f = AccelMeasurer("vta-1x16", LAYER)
    fr_ok, fr_bad = f.measure([ok, bad])
    assert fr_ok.profile_time == pytest.approx(ct_ok + run)
    assert fr_bad.profile_time == pytest.approx(ct_bad)
    assert f.sim_clock.summary() == {"simulated_seconds": pytest.approx(ct_ok + run + ct_bad),
                                     "n_compiled": 2, "n_measured": 2, "n_invalid_measured": 1}


@pytest.mark.parametrize("name,hp", [("ml2tuner", {}), ("xgb", {}), ("xgb-knob", {}),
                                     ("random", {"compile_screen": True}), ("random", {})])
def test_every_tuner_is_charged_for_every_compile(name, hp, c9):
    m = AccelMeasurer("vta-1x16", LAYER)
    events = []
    m.sim_clock.listeners.append(events.append)
    res = make_tuner(name, m.space, seed=1, **hp).tune(70, m)
    compiled = {e["index"] for e in events} | {r.index for r in res.history}
    assert res.clock["n_compiled"] == len(compiled)
    expect = sum(_expected_compile(m, i)[0] for i in compiled) + sum(
        r.run_time for r in res.history)
    assert res.simulated_seconds == pytest.approx(expect)
    assert res.clock["n_invalid_measured"] == res.n_invalid
    if name == "xgb-knob" or (name == "random" and not hp):
        assert not events                       # compiles only what it measures
    if name == "xgb":                           # itervar features: SA candidates get compiled
        assert res.clock["n_compiled"] > res.n_measured
    if hp.get("compile_screen"):                # the screen never profiles a compile failure
        assert all(r.status != Status.COMPILE_ERROR for r in res.history)
        assert any(e["status"] == "compile_error" for e in events)


def test_itervar_features_zero_rows_where_compiling_fails(c9):
    m = AccelMeasurer("vta-1x16", LAYER)
    ok = next(r for r in c9 if r.valid)
    bad = next(r for r in c9 if r.status == Status.COMPILE_ERROR)
    X = ItervarFeatures(m.space)(m, [ok.index, bad.index])
    # the loop/buffer features; the static cost analysis is not AutoTVM's and is left out
    names = sorted(k for k in ok.hidden if not k.startswith("static_"))
    assert len(names) < len(ok.hidden)
    assert np.allclose(X[0], np.log2(1 + np.array([ok.hidden[k] for k in names])))
    assert not X[1].any()
    assert m.sim_clock.n_compiled == 2


def test_replay_charges_like_the_live_simulator(tmp_path, c9):
    """The same ML2Tuner run, live and replayed from a schema-2 exhaustive trace: same
    configurations, same clock after every measurement."""
    path = tmp_path / "c9.jsonl.gz"
    live = AccelMeasurer("vta-1x16", LAYER)
    write_trace(path, make_header(live.space, exhaustive=True, **live.describe()), c9)
    runs = []
    for m in (AccelMeasurer("vta-1x16", LAYER), ReplayMeasurer.from_file(path)):
        res = make_tuner("ml2tuner", m.space, seed=3).tune(40, m)
        runs.append(([r.index for r in res.history], [r.clock for r in res.history],
                     m.sim_clock.n_compiled))
    assert runs[0][0] == runs[1][0] and runs[0][2] == runs[1][2] > 40
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-9)


def test_schema1_trace_is_read_with_its_compile_part_rebuilt(tmp_path, c9):
    m = AccelMeasurer("vta-1x16", LAYER)
    header = make_header(m.space, exhaustive=True, **m.describe())
    header["schema"] = 1
    path = tmp_path / "old.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write(json.dumps(header) + "\n")
        for seq, r in enumerate(c9):
            rec = {"record": "measure", "seq": seq, **r.to_record()}
            for k in ("compile_time", "run_time", "clock"):
                rec.pop(k)
            f.write(json.dumps(rec) + "\n")
    t = read_trace(path)
    for r, old in zip(t.results, c9):
        assert r.compile_time == pytest.approx(old.compile_time)
        assert r.run_time == pytest.approx(old.run_time)
    d = from_trace(t)
    np.testing.assert_allclose(d.compile_time, [r.compile_time for r in c9])


def test_cli_trace_audits_to_the_reported_clock(tmp_path):
    trace = tmp_path / "t.jsonl"
    out = subprocess.run([sys.executable, "-m", "ml2tuner.cli", "tune", "--workload", LAYER,
                          "--tuner", "ml2tuner", "--trials", "30", "--quiet", "--json",
                          "--trace", str(trace)], capture_output=True, text=True, check=True)
    d = json.loads(out.stdout.strip().splitlines()[-1])
    recs = [json.loads(line) for line in trace.read_text().splitlines()]
    assert recs[0]["schema"] == 2
    total, compiled = 0.0, set()
    for rec in recs[1:]:
        if rec["record"] == "compile":
            assert rec["index"] not in compiled
            total += rec["compile_time"]
            compiled.add(rec["index"])
        else:
            total += rec["run_time"] + (0.0 if rec["index"] in compiled else rec["compile_time"])
            compiled.add(rec["index"])
        assert rec["clock"] == pytest.approx(total)
    assert d["simulated_seconds"] == pytest.approx(total, abs=1e-3)
    assert d["n_compiled"] == len(compiled) > d["n_measured"] == 30
    assert d["n_invalid_measured"] == sum(r.get("status", "ok") != "ok" for r in recs[1:]
                                          if r["record"] == "measure")
