"""Reading Kernel Tuner caches (native, T4, unterminated) and exhaustive traces as ExhaustiveData."""
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from ml2tuner.errors import UserError
from ml2tuner.kt_cache import ExhaustiveData, from_trace, load_exhaustive, load_kt_cache
from ml2tuner.measure import MeasureResult, Status
from ml2tuner.space import Space
from ml2tuner.traces import make_header, write_trace

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kerneltuner"
needs_data = pytest.mark.skipif(not (DATA / "convolution_milo__A100.json.gz").exists(),
                                reason=f"real Kernel Tuner caches not found under {DATA}")


def _entry(bx, ty, time, compile_time=10.0, verification_time=2.0, benchmark_time=100.0):
    e = {"block_size_x": bx, "tile": ty, "time": time, "compile_time": compile_time,
         "verification_time": verification_time, "benchmark_time": benchmark_time,
         "framework_time": 5.0}
    return f"{bx},{ty}", e


def small_cache(objective="time"):
    entries = [_entry(32, 1, 2.0), _entry(32, 2, 1.5), _entry(64, 1, "CompilationFailedConfig",
                                                              benchmark_time=0),
               _entry(64, 2, "RuntimeFailedConfig"), _entry(128, 1, "InvalidConfig"),
               _entry(128, 2, "SomeNewError"), _entry(256, 2, 4.0)]
    cache = dict(entries)
    del cache["32,2"]["verification_time"]          # a missing time counts as 0
    return {"device_name": "TestGPU", "kernel_name": "k", "problem_size": [8],
            "tune_params_keys": ["block_size_x", "tile"],
            "tune_params": {"block_size_x": [32, 64, 128, 256], "tile": [1, 2]},
            "objective": objective, "cache": cache}


def write_json(path: Path, obj):
    text = json.dumps(obj)
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def unterminated_text(obj, half_line=False):
    """The way Kernel Tuner writes a cache while tuning: header, then one entry per line."""
    head = json.dumps({k: v for k, v in obj.items() if k != "cache"}, indent="")[:-2]
    text = head + ',\n"cache": {'
    for key, e in obj["cache"].items():
        text += "\n" + json.dumps({key: e})[1:-1] + ","
    if half_line:
        text += '\n"999,1": {"block_size_x": 999, "ti'
    return text


def check_small(d: ExhaustiveData):
    sp = d.space
    assert len(sp) == 7 and sp.restricted and sp.names == ["block_size_x", "tile"]
    i = {key: sp.config_to_index({"block_size_x": int(key.split(",")[0]),
                                  "tile": int(key.split(",")[1])})
         for key in ["32,1", "32,2", "64,1", "64,2", "128,1", "128,2", "256,2"]}
    assert [i[k] for k in ["32,1", "32,2", "64,1", "64,2", "128,1", "128,2", "256,2"]] \
        == list(range(7))
    assert list(d.status) == ["ok", "ok", "compile_error", "runtime_error", "compile_error",
                              "runtime_error", "ok"]
    assert d.cost[i["32,1"]] == pytest.approx(2.0e-3)
    assert d.cost[i["32,2"]] == pytest.approx(1.5e-3)
    assert d.cost[i["256,2"]] == pytest.approx(4.0e-3)
    assert np.isnan(d.cost[[2, 3, 4, 5]]).all()
    # compile + verification + benchmark, ms -> s; framework time is not profiling
    assert d.profile_time[i["32,1"]] == pytest.approx(0.112)
    assert d.profile_time[i["32,2"]] == pytest.approx(0.110)     # verification missing -> 0
    assert d.profile_time[i["64,1"]] == pytest.approx(0.012)     # failures keep their time
    assert d.error[i["64,2"]] == "RuntimeFailedConfig" and d.error[0] == ""
    assert d.n_valid == 3 and d.optimum == pytest.approx(1.5e-3)
    assert d.median == pytest.approx(2.0e-3)
    assert d.status_counts() == {"ok": 3, "compile_error": 2, "runtime_error": 2}


@pytest.mark.parametrize("name", ["c.json", "c.json.gz"])
def test_native_cache_small(tmp_path, name):
    d = load_kt_cache(write_json(tmp_path / name, small_cache()))
    check_small(d)
    assert d.meta["format"] == "kerneltuner" and d.meta["device_name"] == "TestGPU"
    assert d.meta["maximize"] is False and d.meta["cost_unit"] == "s"
    assert d.flops is None


def test_key_fallback_when_entries_lack_params(tmp_path):
    obj = small_cache()
    for e in obj["cache"].values():
        del e["block_size_x"], e["tile"]
    check_small(load_kt_cache(write_json(tmp_path / "c.json", obj)))


def test_flops_from_gflops(tmp_path):
    obj = small_cache()
    obj["cache"]["32,1"]["GFLOP/s"] = 100.0       # 100 GFLOP/s * 2 ms = 2e8 FLOPs
    obj["cache"]["32,2"]["GFLOP/s"] = 100.0 * 2.0 / 1.5
    d = load_kt_cache(write_json(tmp_path / "c.json", obj))
    assert d.flops == pytest.approx(2e8)


@pytest.mark.parametrize("half_line", [False, True])
def test_unterminated_cache(tmp_path, half_line):
    p = tmp_path / "run.json"
    p.write_text(unterminated_text(small_cache(), half_line))
    with pytest.raises(json.JSONDecodeError):
        json.loads(p.read_text())
    d = load_kt_cache(p)
    check_small(d)
    assert "unterminated" in d.meta["repaired"]
    assert ("dropped" in d.meta["repaired"]) == half_line


def to_t4(obj):
    results = []
    for e in obj["cache"].values():
        value = e["time"]
        inv = {"CompilationFailedConfig": "compile", "RuntimeFailedConfig": "runtime",
               "InvalidConfig": "constraints"}.get(value, "correct" if not isinstance(value, str)
                                                    else "runtime")
        results.append({"configuration": {k: e[k] for k in obj["tune_params_keys"]},
                        "times": {"compilation": e["compile_time"],
                                  "validation": e.get("verification_time", 0),
                                  "framework": e["framework_time"], "search_algorithm": 0,
                                  "runtimes": [e["benchmark_time"] / 2] * 2},
                        "invalidity": inv, "correctness": int(inv == "correct"),
                        "measurements": [{"name": "time", "value": value, "unit": ""}],
                        "objectives": ["time"]})
    return {"metadata": {"timeunit": "miliseconds"}, "results": results[::-1],
            "schema_version": "1.0.0"}


def test_t4_small_equals_native(tmp_path):
    d = load_kt_cache(write_json(tmp_path / "c_T4.json.gz", to_t4(small_cache())))
    check_small(d)
    assert d.meta["format"] == "t4"


def test_maximize_objective(tmp_path):
    obj = small_cache("score")
    for e in obj["cache"].values():
        e["score"] = e.pop("time")
    d = load_kt_cache(write_json(tmp_path / "h.json", obj))
    assert d.meta["maximize"] is True and d.meta["cost_unit"] == "-score"
    assert d.cost[0] == -2.0 and d.cost[1] == -1.5 and d.optimum == -4.0
    # an explicit direction overrides the known one: minimising the score, no unit change
    d2 = load_kt_cache(tmp_path / "h.json", maximize=False)
    assert d2.cost[0] == 2.0 and d2.optimum == 1.5


@pytest.mark.parametrize("mutate,needle", [
    (lambda o: o.update(objective="energy"), "unknown objective 'energy'"),
    (lambda o: o.update(cache={}), "holds no configurations"),
    (lambda o: o["cache"]["32,1"].pop("time"), "has no objective 'time'"),
    (lambda o: o["cache"]["32,1"].update(tile=7), "value 7 of 'tile'"),
    (lambda o: o.pop("tune_params"), "malformed Kernel Tuner cache header"),
])
def test_bad_caches(tmp_path, mutate, needle):
    obj = small_cache()
    mutate(obj)
    p = write_json(tmp_path / "bad.json", obj)
    with pytest.raises(UserError, match="bad.json") as ei:
        load_kt_cache(p)
    assert needle in str(ei.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(UserError, match="not found: .*nope.json"):
        load_kt_cache(tmp_path / "nope.json")
    (tmp_path / "x.json").write_text("this is not json")
    with pytest.raises(UserError, match="x.json: not valid JSON"):
        load_kt_cache(tmp_path / "x.json")
    write_json(tmp_path / "y.json", {"results": []})
    with pytest.raises(UserError, match="y.json: not a Kernel Tuner cache"):
        load_kt_cache(tmp_path / "y.json")
    with pytest.raises(UserError, match="unknown data file type"):
        load_exhaustive(tmp_path / "z.csv")


# ----- exhaustive ml2tuner traces ---------------------------------------------------------------
def small_trace(tmp_path, skip=None, name="t.jsonl"):
    sp = Space([("a", (1, 2, 3)), ("b", (0, 1))], name="toy")
    res = []
    for i in range(len(sp)):
        if i == skip:
            continue
        st = [Status.OK, Status.COMPILE_ERROR, Status.RUNTIME_ERROR][i % 3]
        res.append(MeasureResult(index=i, config=sp.index_to_config(i), status=st,
                                 cost=(i + 1) * 1e-3 if st == Status.OK else None,
                                 gflops=2.0 / ((i + 1) * 1e-3) / 1e9      # 2 FLOPs
                                 if st == Status.OK else None,
                                 hidden={} if st == Status.COMPILE_ERROR else {"uops": i},
                                 profile_time=0.5 + i, error="" if st == Status.OK else "x"))
    p = tmp_path / name
    write_trace(p, make_header(sp, workload="toy"), res[::-1])
    return p, sp


def test_from_trace(tmp_path):
    p, sp = small_trace(tmp_path, name="t.jsonl.gz")
    d = from_trace(p)
    assert len(d) == 6 and d.space.to_dict() == sp.to_dict()
    assert list(d.status) == ["ok", "compile_error", "runtime_error"] * 2
    np.testing.assert_allclose(d.cost[[0, 3]], [1e-3, 4e-3])
    assert np.isnan(d.cost[[1, 2, 4, 5]]).all()
    np.testing.assert_allclose(d.profile_time, 0.5 + np.arange(6))
    assert d.hidden[0] == {"uops": 0} and d.hidden[1] is None and d.hidden[2] == {"uops": 2}
    assert d.flops == pytest.approx(2.0)                  # gflops * 1e9 * cost
    assert d.meta["format"] == "ml2tuner-trace" and d.meta["workload"] == "toy"
    assert load_exhaustive(p).cost[3] == d.cost[3]
    assert ExhaustiveData.from_trace(p).n_valid == 2


def test_from_trace_needs_every_index(tmp_path):
    p, _ = small_trace(tmp_path, skip=4)
    with pytest.raises(UserError, match=r"not an exhaustive trace: 1 of 6 .*indices 4"):
        from_trace(p)


# ----- the real caches (shared/data) ------------------------------------------------------------
@pytest.fixture(scope="module")
def a100():
    return load_kt_cache(DATA / "convolution_milo__A100.json.gz")


@needs_data
def test_real_convolution_a100(a100):
    d = a100
    assert len(d) == 4362 and d.space.names[0] == "block_size_x"
    assert d.status_counts() == {"ok": 4201, "runtime_error": 155, "compile_error": 6}
    assert d.meta["device_name"] == "NVIDIA A100-PCIE-40GB"
    raw = json.load(gzip.open(DATA / "convolution_milo__A100.json.gz"))["cache"]
    e = raw["16,1,1,1,0,0,0,1,15,15"]
    i = d.space.config_to_index({k: e[k] for k in d.space.names})
    assert d.cost[i] == pytest.approx(e["time"] / 1e3, rel=1e-15)
    assert d.profile_time[i] == pytest.approx(
        (e["compile_time"] + e["verification_time"] + e["benchmark_time"]) / 1e3)
    best = min(v["time"] for v in raw.values() if not isinstance(v["time"], str))
    assert d.optimum == pytest.approx(best / 1e3, rel=1e-15)
    assert d.flops == pytest.approx(2 * 4096 * 4096 * 15 * 15, rel=1e-3)   # FMA per tap


@needs_data
def test_real_native_and_t4_agree(a100):
    t4 = load_kt_cache(DATA / "convolution_milo__A100_T4.json.gz")
    assert len(t4) == len(a100)
    for i in (0, 1, 777, 4361):
        assert t4.space.index_to_config(i) == a100.space.index_to_config(i)
    np.testing.assert_array_equal(t4.status, a100.status)
    np.testing.assert_array_equal(t4.cost, a100.cost)     # nan at the same places
    # T4 lacks benchmark_time: the sum of runtimes stands in, within 0.4 % per config
    np.testing.assert_allclose(t4.profile_time, a100.profile_time, rtol=4e-3)


@needs_data
@pytest.mark.parametrize("name,n,counts", [
    ("convolution_milo__A4000.json.gz", 4362,
     {"ok": 4201, "runtime_error": 155, "compile_error": 6}),
    ("legacy_pnpoly__RTX_3090.json.gz", 4092, {"ok": 3774, "runtime_error": 318}),
])
def test_real_other_caches(name, n, counts):
    d = load_kt_cache(DATA / name)
    assert len(d) == n and d.status_counts() == counts


@needs_data
def test_real_hyperparameter_cache():
    p = DATA / "hyperparameters" / "bruteforce_genetic_algorithm.json.gz"
    d = load_kt_cache(p)
    assert len(d) == 4 * 3 * 3 * 3 and d.n_valid == 108
    assert d.meta["objective"] == "score" and d.meta["maximize"] is True
    raw = json.load(gzip.open(p))["cache"]
    assert d.optimum == -max(e["score"] for e in raw.values())
    i = d.space.config_to_index({"method": "single_point", "popsize": 10, "maxiter": 50,
                                 "mutation_chance": 5})
    assert d.cost[i] == pytest.approx(0.196)                 # score -0.196
    assert d.space.knobs[0].values[0] == "single_point"      # tune_params order is kept
