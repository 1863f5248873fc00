"""Bad input on every subcommand: one line naming the problem, exit status 2, no traceback, no
hang. Each row is (command line, text the message must contain); `{d}` is a folder of bad files
built once (accelerator descriptions, Kernel Tuner caches, traces, model bundles)."""
import hashlib
import json
import math
import shutil
import time

import pytest
from test_kt_cache import small_cache, to_t4

from ml2tuner.cli import main

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
WL = "resnet18.C9"


def _dump(path, obj):
    path.write_text(json.dumps(obj))          # allow_nan: writes NaN/Infinity literals
    return path


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    # --- accelerator descriptions
    acc = json.loads((ROOT / "accel" / "vta-1x16.json").read_text())
    for name, change in {
        "nan": {"clock_mhz": math.nan}, "inf": {"bus_bits": math.inf},
        "clock0": {"clock_mhz": 0}, "clockhuge": {"clock_mhz": 1e9},
        "bus100": {"bus_bits": 100}, "bus4": {"bus_bits": 4}, "busstr": {"bus_bits": "64"},
        "emptyname": {"name": ""}, "numname": {"name": 5}, "logstr": {"LOG_BATCH": "0"},
        "timingneg": {"timing": {"dma_latency": -1}},
        "timinghuge": {"timing": {"gemm_pipeline": 1e12}},
        "timingnan": {"timing": {"insn_overhead": math.nan}},
        "repeats0": {"profiling": {"repeats": 0}}, "timingkey": {"timing": {"warp": 1}},
        "timinglist": {"timing": [1]}, "descnum": {"description": 7},
    }.items():
        _dump(d / f"acc_{name}.json", {**acc, **change})
    (d / "acc_list.json").write_text("[1, 2]")
    (d / "acc_nonutf8.json").write_bytes(b'{"name": "\xff\xfe"}')
    (d / "acc_dupkey.json").write_text(json.dumps(acc)[:-1] + ', "clock_mhz": 50}')
    (d / "acc_dir.json").mkdir()
    # --- Kernel Tuner caches (native and T4)
    for name, mutate in {
        "keysstr": lambda o: o.update(tune_params_keys="block_size_x"),
        "paramslist": lambda o: o.update(tune_params=[32, 64]),
        "entrylist": lambda o: o["cache"].update({"32,1": [1, 2]}),
        "timeneg": lambda o: o["cache"]["32,1"].update(time=-2.0),
        "timezero": lambda o: [e.update(time=0.0) for e in o["cache"].values()
                               if isinstance(e["time"], float)],
        "benchneg": lambda o: o["cache"]["32,1"].update(benchmark_time=-100.0),
        "benchstr": lambda o: o["cache"]["32,1"].update(benchmark_time="fast"),
        "timelist": lambda o: o["cache"]["32,1"].update(time=[2.0]),
        "compilebool": lambda o: o["cache"]["32,1"].update(compile_time=True),
        "notobject": lambda o: (o.clear(), o.update(cache=5)),
    }.items():
        obj = small_cache()
        mutate(obj)
        _dump(d / f"kt_{name}.json", obj)
    for name, mutate in {
        "conflist": lambda o: o["results"][0].update(configuration=[32, 1]),
        "timeslist": lambda o: o["results"][0].update(times=[1.0]),
        "runtimeneg": lambda o: o["results"][0].update(times={"runtimes": [-1.0, 2.0]}),
        "metalist": lambda o: o.update(metadata=["ms"]),
        "measstr": lambda o: o["results"][0].update(measurements="time"),
        "objlist": lambda o: o["results"][0].update(objectives=[["time"]]),
        "valueneg": lambda o: o["results"][1]["measurements"][0].update(value=-1.5),
    }.items():
        obj = to_t4(small_cache())
        mutate(obj)
        _dump(d / f"t4_{name}_T4.json", obj)
    (d / "kt_binary.json").write_bytes(bytes(range(256)))
    # --- a good exhaustive trace and bundle, then broken copies
    assert main(["bruteforce", "--workload", WL, "--out", str(d / "good.jsonl"), "--quiet"]) == 0
    assert main(["train", "--traces", str(d / "good.jsonl"), "--out", str(d / "good_b")]) == 0
    lines = [json.loads(ln) for ln in (d / "good.jsonl").read_text().splitlines()]
    for name, mutate in {
        "spacelist": lambda ls: ls[0].update(space=[1]),
        "knobsstr": lambda ls: ls[0]["space"].update(knobs="tile_h"),
        "membersstr": lambda ls: ls[0]["space"].update(members=["a"]),
        "indexfloat": lambda ls: ls[5].update(index=4.0),
        "coststr": lambda ls: ls[next(i for i, r in enumerate(ls) if r.get("status") == "ok")]
        .update(cost="1e-3"),
        "countlist": lambda ls: ls[5].update(counters=[1]),
        "ptimeneg": lambda ls: ls[5].update(profile_time=-1),
        "confignull": lambda ls: ls[5].update(config=None),
        "recordnum": lambda ls: ls[5].update(record=3),
        "descstr": lambda ls: ls[0].update(descriptor="x"),
    }.items():
        ls = json.loads(json.dumps(lines))
        mutate(ls)
        (d / f"tr_{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ls))
    (d / "tr_nan.jsonl").write_text((d / "good.jsonl").read_text().replace(
        '"profile_time":', '"profile_time":NaN,"x":', 1))
    manifest = json.loads((d / "good_b" / "manifest.json").read_text())
    for name, mutate in {
        "modelslist": lambda m: m.update(models=[1]),
        "thrstr": lambda m: m["models"]["v"].update(threshold="high"),
        "escape": lambda m: m["models"]["p"].update(file="../good.jsonl"),
        "paramslist": lambda m: m["models"]["p"].update(params=[1]),
        "featnum": lambda m: m["features"].update(visible=[1, 2]),
        "binary": None,
    }.items():
        b = d / f"bundle_{name}"
        shutil.copytree(d / "good_b", b)
        m = json.loads(json.dumps(manifest))
        if mutate is None:          # a binary model file whose hash the manifest agrees with
            (b / "p.json").write_bytes(b"\x00binf" + bytes(range(200)))
            m["models"]["p"]["sha256"] = hashlib.sha256((b / "p.json").read_bytes()).hexdigest()
        else:
            mutate(m)
        _dump(b / "manifest.json", m)
    b = d / "bundle_nanjson"
    shutil.copytree(d / "good_b", b)
    (b / "manifest.json").write_text((b / "manifest.json").read_text().replace(
        '"format"', '"junk": NaN, "format"', 1))
    return d


T = ["tune", "--tuner", "random", "--workload", WL, "--trials", "3", "--quiet"]
R = ["--budget", "5", "--repeats", "1", "--quiet"]
CASES = [
    # accelerator files
    *[(["space", "--accel", f"{{d}}/acc_{n}.json"], msg) for n, msg in [
        ("nan", "NaN is not"), ("inf", "Infinity is not"), ("clock0", "clock_mhz"),
        ("clockhuge", "clock_mhz"), ("bus100", "power of two"), ("bus4", "power of two"),
        ("busstr", "bus_bits"), ("emptyname", "'name'"), ("numname", "'name'"),
        ("logstr", "LOG_BATCH"), ("timingneg", "timing.dma_latency"),
        ("timinghuge", "timing.gemm_pipeline"), ("timingnan", "NaN"),
        ("repeats0", "profiling.repeats"), ("timingkey", "timing.warp"), ("timinglist", "timing"),
        ("descnum", "description"), ("list", "JSON object"), ("nonutf8", "not UTF-8"),
        ("dupkey", "given twice"), ("dir", "is a directory")]],
    (["space", "--accel", ""], "empty accelerator name"),
    (["tune", "--accel", "{d}/acc_nan.json", "--trials", "3"], "NaN"),
    *[([*T[:3], "--accel", f"{{d}}/acc_{n}.json"], msg) for n, msg in [
        ("bus4", "power of two"), ("timinghuge", "gemm_pipeline"), ("repeats0", "repeats"),
        ("logstr", "LOG_BATCH"), ("emptyname", "'name'")]],
    (["space", "--accel", "nope"], "unknown accelerator"),
    (["measure", "--accel", "{d}/acc_bus100.json", "--config", "{}"], "bus_bits"),
    (["bruteforce", "--accel", "{d}/acc_clock0.json", "--out", "{d}/x.jsonl"], "clock_mhz"),
    (["prior", "--accel", "{d}/acc_dir.json", "--traces", "{d}/good.jsonl"], "directory"),
    # numbers
    *[([*cmd, "--seed", "-1"], "--seed") for cmd in (
        ["measure", "--config", "{}"], ["bruteforce", "--out", "{d}/s.jsonl"], T,
        ["train", "--traces", "{d}/good.jsonl", "--out", "{d}/s"],
        ["prior", "--traces", "{d}/good.jsonl"], ["replay", "--cache", "{d}/good.jsonl"],
        ["hpo", "--train", "a", "--test", "b", "--evals", "1"],
        ["tvm-tune", "--workload", "matmul:M=8,N=8,K=8"])],
    ([*T, "--seed", "1.5"], "--seed"),
    ([*T, "--early-stopping", "0"], "--early-stopping"),
    ([*T, "--early-stopping", "-3"], "--early-stopping"),
    ([*T, "--noise", "-0.1"], "--noise"), ([*T, "--noise", "nan"], "--noise"),
    ([*T, "--noise", "inf"], "--noise"),
    (["measure", "--config", "{}", "--noise", "-1"], "--noise"),
    (["bruteforce", "--out", "{d}/n.jsonl", "--noise", "NaN"], "--noise"),
    ([*T, "--trials", "0"], "--trials"),
    (["tune", "--tuner", "ml2tuner", "--workload", WL, "--hp", "alpha=NaN"], "alpha"),
    (["tune", "--tuner", "ml2tuner", "--workload", WL, "--hp", "epsilon=Infinity"], "epsilon"),
    (["tune", "--tuner", "ml2tuner", "--workload", WL, "--hp", "batch_size=true"], "batch_size"),
    (["tune", "--tuner", "ml2tuner", "--workload", WL, "--hp", "alpha=false"], "alpha"),
    (["tune", "--tuner", "ml2tuner", "--workload", WL, "--hp", "compile_filter=1"],
     "compile_filter"),
    (["tune", "--tuner", "ml2tuner", "--workload", WL, "--hp", "batch_size=2.5"], "integer"),
    (["tune", "--tuner", "ml2tuner", "--workload", WL, "--hp", "noequals"], "NAME=VALUE"),
    (["replay", "--cache", "{d}/good.jsonl", "--tuner", "random", *R, "--hp", "x=1"],
     "unknown hyperparameter"),
    (["tvm-tune", "--workload", "matmul:M=8,N=8,K=8", "--population", "0"], "--population"),
    (["tvm-tune", "--workload", "matmul:M=8,N=8,K=8", "--alpha", "-1"], "--alpha"),
    (["tvm-tune", "--workload", "matmul:M=8,N=8,K=8", "--trials", "0"], "--trials"),
    (["tvm-tune", "--workload", "matmul:M=8,N=8,K=8", "--trials-per-iter", "0"],
     "--trials-per-iter"),
    (["replay", "--cache", "{d}/good.jsonl", "--budget", "0"], "--budget"),
    (["replay", "--cache", "{d}/good.jsonl", "--repeats", "-1"], "--repeats"),
    (["replay", "--cache", "{d}/good.jsonl", "--points", "0"], "--points"),
    (["replay", "--cache", "{d}/good.jsonl", *R, "--jobs", "0"], "jobs"),
    (["hpo", "--train", "a", "--test", "b", "--evals", "0"], "--evals"),
    (["hpo", "--train", "a", "--test", "b", "--evals", "1", "--test-repeats", "0"],
     "--test-repeats"),
    (["prior", "--traces", "{d}/good.jsonl", "-n", "0"], "-n"),
    (["prior", "--traces", "{d}/good.jsonl", "--quantile", "0"], "--quantile"),
    (["prior", "--traces", "{d}/good.jsonl", "--p", "1.5"], "--p"),
    (["train", "--traces", "{d}/good.jsonl", "--out", "{d}/m", "--max-valid-drop", "1"],
     "--max-valid-drop"),
    # workloads
    (["space", "--workload", "conv2d:H=8,W=8,IC=16,OC=16,K=1,K=3"], "K given twice"),
    (["space", "--workload", "conv2d:H=8,W=8,CI=16,OC=16,K=1"], "tvm-tune parameter"),
    (["space", "--workload", "dense:B=1,I=16,O=16"], "tvm-tune parameter"),
    (["space", "--workload", "matmul:M=8,N=8,K=8"], "tvm-tune workload"),
    (["space", "--workload", "conv2d:H=99999999999,W=8,IC=16,OC=16,K=1"], "exceeds"),
    (["space", "--workload", "conv2d:H=8,W=8,IC=16,OC=16,K=1,pad=-1"], "pad"),
    (["space", "--workload", "conv2d:H=8,W=8,IC=16,OC=16,K=x"], "must be an integer"),
    (["space", "--workload", "resnet18.C1"], "unknown ResNet-18 layer"),
    (["space", "--workload", ""], "unknown workload"),
    (["tvm-tune", "--workload", "resnet18.C2"], "accelerator commands"),
    (["tvm-tune", "--workload", "conv2d:N=1,H=8,W=8,IC=3,CO=4,KH=1,KW=1"], "accelerator"),
    (["tvm-tune", "--workload", "matmul:M=8,N=8,K=8,M=4"], "given twice"),
    (["tvm-tune", "--workload", "matmul:M=8,N=8,K=99999999999"], "out of range"),
    (["measure", "--config", '{"tile_b": 1, "tile_b": 1}'], "given twice"),
    (["measure", "--config", "[1, 2]"], "JSON object"),
    (["measure", "--config", '{"tile_b": NaN}'], "NaN"),
    (["measure", "--config", '{"tile_b": 1.5}'], "lacks knob|not in the space"),
    (["space", "--workload", "conv2d:H=8,W=8,IC=15,OC=16,K=1"], "not a multiple"),
    (["space", "--workload", "dense:N=1,IC=16"], "missing OC"),
    (["tvm-tune", "--workload", "matmul:M=8,N=8"], "missing K"),
    (["tvm-tune", "--workload", "matmul:M=8,N=8,K=8,dtype=int4"], "dtype"),
    (["tvm-tune", "--workload", "conv2d:N=1,H=1,W=1,CI=1,CO=1,KH=3,KW=3"], "does not fit"),
    (["tvm-tune", "--workload", "matmul:M=8,N=8,K=8", "--trace", "{d}/good.jsonl"], "exists"),
    (["tvm-tune", "--workload", "matmul:M=8,N=8,K=8", "--max-vector-lanes", "0"],
     "--max-vector-lanes"),
    (["bruteforce", "--out", "{d}/x.txt"], ".jsonl"),
    ([*T, "--trace", "{d}/x.jsonl.gz"], "uncompressed"),
    (["evaluate", "--model", "{d}/none", "--traces", "{d}/good.jsonl"], "no manifest"),
    (["evaluate", "--model", "{d}/good_b", "--traces", "{d}/none.jsonl"], "not found"),
    (["evaluate", "--traces", "{d}/good.jsonl", "--protocol", "leave-one-layer-out"],
     "at least two"),
    (["evaluate", "--traces", "{d}/good.jsonl"], "--model is required"),
    (["train", "--traces", "{d}/none.jsonl", "--out", "{d}/n"], "not found"),
    (["train", "--traces", "{d}/kt_timeneg.json", "--out", "{d}/n"], "'record' field"),
    (["hpo", "--train", "{d}/none.json", "--test", "{d}/good.jsonl", "--evals", "1", "--out",
      "{d}/h"], "not found"),
    (["hpo", "--train", "a", "--test", "b", "--evals", "1", "--meta", "nope"], "invalid choice"),
    (["replay", "--cache", "{d}/good.jsonl", "--tuner", "nope"], "invalid choice"),
    (["replay", "--cache", "{d}/good_b", *R], "not found|unknown data file"),
    (["replay", "--cache", "{d}/good.txt", *R], "not found|unknown data file"),
    # flags that need another
    ([*T, "--resume"], "--resume needs --trace"),
    ([*T, "--source-traces", "{d}/good.jsonl"], "only used by --init gc"),
    ([*T, "--init", "gc", "--source-traces", "{d}/good.jsonl"], "--tuner ml2tuner"),
    (["tune", "--workload", WL, "--init", "gc"], "--source-traces"),
    ([*T, "--model", "{d}/good_b"], "--model needs --tuner ml2tuner"),
    (["tvm-tune", "--workload", "matmul:M=8,N=8,K=8", "--cost-model", "xgb", "--save-model",
      "{d}/sm"], "--save-model and --load-model need --cost-model ml2"),
    # Dask addresses
    (["replay", "--cache", "{d}/good.jsonl", *R, "--dask-scheduler", "nonsense"],
     "bad Dask scheduler address"),
    (["replay", "--cache", "{d}/good.jsonl", *R, "--dask-scheduler", "http://h:1"],
     "unknown scheme"),
    (["hpo", "--train", "{d}/good.jsonl", "--test", "{d}/good.jsonl", "--evals", "1",
      "--dask-scheduler", "tcp://host", "--out", "{d}/h"], "missing port"),
    # Kernel Tuner caches
    *[(["replay", "--cache", f"{{d}}/kt_{n}.json", *R], msg) for n, msg in [
        ("keysstr", "tune_params_keys"), ("paramslist", "tune_params"),
        ("entrylist", "not a JSON object"), ("timeneg", "time -2.0 is not positive"),
        ("timezero", "is not positive"), ("benchneg", "'benchmark_time' must be a non-negative"),
        ("benchstr", "benchmark_time"), ("timelist", "must be a number or an error name"),
        ("compilebool", "compile_time"), ("notobject", "malformed Kernel Tuner cache header"),
        ("binary", "not UTF-8|cannot read")]],
    *[(["replay", "--cache", f"{{d}}/t4_{n}_T4.json", *R], msg) for n, msg in [
        ("conflist", "'configuration' must be a JSON object"), ("timeslist", "'times' must be"),
        ("runtimeneg", "non-negative"), ("metalist", "'metadata' must be"),
        ("measstr", "malformed T4 result #0"), ("objlist", "objective name must be a string"),
        ("valueneg", "is not positive")]],
    (["replay", "--cache", "{d}/nope.json", *R], "not found"),
    (["replay", "--cache", "{d}/acc_dir.json", *R], "not found"),
    # traces, through every command that reads them
    *[(["replay", "--cache", f"{{d}}/tr_{n}.jsonl", *R], msg) for n, msg in [
        ("spacelist", "header 'space' must be"), ("knobsstr", "'knobs' must map"),
        ("membersstr", "'members' must be a list of integers"),
        ("indexfloat", "'index' must be a non-negative integer"),
        ("coststr", "positive finite 'cost'"), ("countlist", "'counters' must be"),
        ("ptimeneg", "'profile_time' must be"), ("confignull", "'config' must be"),
        ("recordnum", "'record' field"), ("nan", "NaN")]],
    *[(["train", "--traces", f"{{d}}/tr_{n}.jsonl", "--out", "{d}/t_" + n], msg) for n, msg in [
        ("spacelist", "header 'space' must be"), ("indexfloat", "'index' must be"),
        ("coststr", "'cost'"), ("confignull", "'config' must be"), ("descstr", "descriptor"),
        ("knobsstr", "'knobs' must map"), ("membersstr", "'members'"), ("countlist", "counters"),
        ("ptimeneg", "profile_time"), ("recordnum", "'record' field"), ("nan", "NaN")]],
    *[(["evaluate", "--model", "{d}/good_b", "--traces", f"{{d}}/tr_{n}.jsonl"], msg)
      for n, msg in [("countlist", "counters"), ("spacelist", "'space' must be"),
                     ("indexfloat", "'index' must be"), ("confignull", "'config' must be"),
                     ("nan", "NaN"), ("recordnum", "'record' field")]],
    *[(["prior", "--traces", f"{{d}}/tr_{n}.jsonl"], msg)
      for n, msg in [("spacelist", "'space' must be"), ("coststr", "'cost'"),
                     ("confignull", "'config' must be"), ("knobsstr", "'knobs' must map")]],
    (["prior", "--traces", "{d}/tr_indexfloat.jsonl"], "'index' must be"),
    (["tune", "--tuner", "ml2tuner", "--workload", WL, "--init", "gc", "--source-traces",
      "{d}/tr_coststr.jsonl", "--trials", "3"], "'cost'"),
    # model bundles, through every command that loads them
    *[(["evaluate", "--model", f"{{d}}/bundle_{n}", "--traces", "{d}/good.jsonl"], msg)
      for n, msg in [("modelslist", "'models' must be"), ("thrstr", "threshold"),
                     ("escape", "is missing"), ("paramslist", "malformed"),
                     ("featnum", "'features' must list"), ("binary", "not an XGBoost JSON"),
                     ("nanjson", "NaN")]],
    *[(["tune", "--tuner", "ml2tuner", "--workload", WL, "--model", f"{{d}}/bundle_{n}",
        "--trials", "3"], msg) for n, msg in [
        ("binary", "not an XGBoost JSON"), ("modelslist", "'models' must be"),
        ("escape", "is missing"), ("thrstr", "threshold")]],
    (["prior", "--traces", "{d}/good.jsonl", "--model", "{d}/bundle_thrstr"], "threshold"),
    (["evaluate", "--model", "{d}/good.jsonl", "--traces", "{d}/good.jsonl"], "no manifest"),
]


@pytest.mark.parametrize("args,needle", CASES,
                         ids=[f"{i}-{a[0]}" for i, (a, _) in enumerate(CASES)])
def test_bad_input_one_line_exit_2(d, capsys, args, needle):
    argv = [a.replace("{d}", str(d)) for a in args]
    t0 = time.perf_counter()
    try:
        rc = main(argv)
    except SystemExit as e:         # argparse's own usage errors
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2, (argv, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert __import__("re").search(needle, err), (needle, err)
    assert time.perf_counter() - t0 < 20, "bad input must be refused promptly"


def test_bad_input_table_covers_every_subcommand():
    from ml2tuner.cli import build_parser
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == {a[0] for a, _ in CASES}
    assert len(CASES) >= 150


def test_huge_workload_sizes_do_not_hang(capsys):
    t0 = time.perf_counter()
    rc = main(["space", "--workload", "conv2d:H=2147483647,W=2147483646,IC=16,OC=16,K=1",
               "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and time.perf_counter() - t0 < 10
    # 2^31 - 1 is prime; 2^31 - 2 = 2 * 3^2 * 7 * 11 * 31 * 151 * 331 has 2*3*2^5 = 192
    assert d["knobs"]["tile_h"] == [1, 2147483647] and len(d["knobs"]["tile_w"]) == 192
