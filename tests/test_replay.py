"""ReplayMeasurer: answers from exhaustive data, charges simulated time on first visits only."""
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from ml2tuner.errors import SpaceError, UserError
from ml2tuner.kt_cache import ExhaustiveData
from ml2tuner.measure import MeasureResult, Status
from ml2tuner.replay import ReplayMeasurer
from ml2tuner.space import Space
from ml2tuner.traces import make_header, write_trace

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kerneltuner"
needs_data = pytest.mark.skipif(not (DATA / "convolution_milo__A100.json.gz").exists(),
                                reason=f"real Kernel Tuner caches not found under {DATA}")


def toy_data(hidden=None, flops=None):
    sp = Space([("a", (1, 2, 3)), ("b", (0, 1))], name="toy")
    status = ["ok", "compile_error", "ok", "runtime_error", "ok", "ok"]
    cost = [2e-3, 9.0, 1e-3, np.nan, 4e-3, 3e-3]        # the 9.0 of a failure is dropped
    ptime = [1.0, 0.25, 2.0, 0.5, 4.0, 8.0]
    return ExhaustiveData(sp, cost, status, ptime, meta={"source": "toy"}, hidden=hidden,
                          error=np.array(["", "CompilationFailedConfig", "", "Boom", "", ""],
                                         dtype=object), flops=flops)


def test_measure_and_clock():
    m = ReplayMeasurer(toy_data(flops=2e9))
    r = m.measure([0, 1, 0, 3])
    assert [x.status for x in r] == [Status.OK, Status.COMPILE_ERROR, Status.OK,
                                     Status.RUNTIME_ERROR]
    assert r[0].cost == 2e-3 and r[1].cost is None and r[3].cost is None
    assert r[0].gflops == pytest.approx(2e9 / 2e-3 / 1e9) and r[1].gflops is None
    assert r[0].config == {"a": 1, "b": 0} and r[3].config == {"a": 2, "b": 1}
    assert r[1].error == "CompilationFailedConfig" and r[0].error == ""
    # first visits charge their recorded time (failures too); the repeat of 0 is free
    assert [x.profile_time for x in r] == [1.0, 0.25, 0.0, 0.5]
    assert m.clock == 1.75 == sum(x.profile_time for x in r)
    assert (m.n_visits, m.n_unique, m.n_invalid) == (4, 3, 2)
    m.measure(np.array([3, 5]))
    assert m.clock == 1.75 + 8.0 and (m.n_visits, m.n_unique, m.n_invalid) == (6, 4, 2)
    assert m.visited(5) and not m.visited(4)
    m.reset()
    assert (m.clock, m.n_visits, m.n_unique, m.n_invalid) == (0.0, 0, 0, 0)


def test_gflops_none_without_flops():
    assert ReplayMeasurer(toy_data()).measure([2])[0].gflops is None


def test_bad_indices_charge_nothing():
    m = ReplayMeasurer(toy_data())
    with pytest.raises(SpaceError, match="index 6 outside the space of size 6"):
        m.measure([0, 6])
    with pytest.raises(SpaceError, match="index -1 outside"):
        m.measure([-1])
    with pytest.raises(SpaceError, match="integers"):
        m.measure([0.5])
    assert m.clock == 0.0 and m.n_visits == 0
    assert m.measure([]) == []


def test_hidden_features():
    assert ReplayMeasurer(toy_data()).hidden_features([0, 1]) == [None, None]
    hid = [{"uops": 10}, None, {"uops": 30}, {"uops": 40}, {"uops": 50}, {"uops": 60}]
    m = ReplayMeasurer(toy_data(hidden=hid))
    assert m.hidden_features([2, 1, 0]) == [{"uops": 30}, None, {"uops": 10}]
    assert m.clock == 0.0                       # compiling for hidden features is not charged
    assert m.measure([4])[0].hidden == {"uops": 50}
    with pytest.raises(SpaceError):
        m.hidden_features([7])


def test_from_trace_file(tmp_path):
    d = toy_data(hidden=[{"h": i} if i != 1 else None for i in range(6)])
    res = [MeasureResult(index=i, config=d.space.index_to_config(i), status=Status(d.status[i]),
                         cost=None if np.isnan(d.cost[i]) else float(d.cost[i]),
                         hidden=d.hidden[i] or {}, profile_time=float(d.profile_time[i]))
           for i in range(6)]
    p = tmp_path / "exh.jsonl.gz"
    write_trace(p, make_header(d.space, flops=4e6), res)
    m = ReplayMeasurer.from_file(p)
    assert m.flops == 4e6
    assert m.hidden_features([0, 1, 3]) == [{"h": 0}, None, {"h": 3}]
    r = m.measure(range(6))
    assert [x.cost for x in r] == [2e-3, None, 1e-3, None, 4e-3, 3e-3]
    assert m.clock == pytest.approx(15.75)
    assert m.describe()["replay"]["format"] == "ml2tuner-trace"


def test_from_file_kt_cache(tmp_path):
    cache = {"tune_params_keys": ["x"], "tune_params": {"x": [1, 2]}, "objective": "time",
             "cache": {"1": {"x": 1, "time": 3.0, "compile_time": 500.0, "benchmark_time": 30.0},
                       "2": {"x": 2, "time": "RuntimeFailedConfig", "compile_time": 400.0}}}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cache))
    m = ReplayMeasurer.from_file(p)
    r = m.measure([1, 0])
    assert r[0].status == Status.RUNTIME_ERROR and r[1].cost == pytest.approx(3e-3)
    assert m.clock == pytest.approx(0.4 + 0.53)
    with pytest.raises(UserError, match="not found"):
        ReplayMeasurer.from_file(tmp_path / "missing.json.gz")


@needs_data
def test_real_replay_charges_first_visits_only():
    p = DATA / "convolution_milo__A100.json.gz"
    m = ReplayMeasurer.from_file(p)
    raw = json.load(gzip.open(p))["cache"]
    failed = next(e for e in raw.values() if e["time"] == "RuntimeFailedConfig")
    i = m.space.config_to_index({k: failed[k] for k in m.space.names})
    r = m.measure([i, i])
    assert r[0].status == Status.RUNTIME_ERROR and r[0].cost is None
    recorded = (failed["compile_time"] + failed["verification_time"]
                + failed["benchmark_time"]) / 1e3
    assert r[0].profile_time == pytest.approx(recorded) and recorded > 1.0
    assert m.clock == pytest.approx(recorded)
    everything = m.measure(range(len(m.space)))
    assert m.clock == pytest.approx(m.data.profile_time.sum())
    # independently of the reader: every entry's recorded compile + verification + benchmark
    total = sum(sum(float(e.get(k) or 0) for k in ("compile_time", "verification_time",
                                                    "benchmark_time")) for e in raw.values())
    assert m.clock == pytest.approx(total / 1e3, rel=1e-6) and m.clock > 3 * 3600
    m.measure(range(len(m.space)))                          # all repeats: free
    assert m.clock == pytest.approx(m.data.profile_time.sum())
    assert (m.n_unique, m.n_invalid, m.n_visits) == (4362, 161, 2 + 2 * 4362)
    best = min(x.cost for x in everything if x.valid)
    assert best == pytest.approx(m.data.optimum)
    assert max(x.gflops for x in everything if x.valid) == pytest.approx(
        max(e["GFLOP/s"] for e in raw.values() if "GFLOP/s" in e), rel=2e-3)
