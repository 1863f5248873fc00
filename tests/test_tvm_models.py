"""Whole-model tuning, users' own MetaSchedule scripts, and TVM traces -> `ml2tuner train` -> back.

Real TVM tests share one module fixture: a 24-trial tuning of the MLP (3 tasks) into a work
directory, then a second call reusing its database and a resumed one; the examples run in this
process (runpy) so TVM's ~11 s start-up is paid once. Skipped with the reason without TVM.
"""
import json
import runpy
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from ml2tuner.cli import main as cli_main
from ml2tuner.tvm import tvm_available

TVM_OK, TVM_WHY = tvm_available()
needs_tvm = pytest.mark.skipif(not TVM_OK, reason=f"TVM unavailable: {TVM_WHY}")
ROOT = Path(__file__).resolve().parents[1]


def _exit_code(argv, capsys):
    code = cli_main(argv)
    return code, capsys.readouterr().err


# ----- no TVM needed -------------------------------------------------------------------------
@pytest.mark.parametrize("argv,words", [
    (["tvm-tune", "--model", "mlp", "--workload", "matmul:M=8,N=8,K=8"], "exactly one"),
    (["tvm-tune"], "exactly one"),
    (["tvm-tune", "--model", "vgg"], "unknown model"),
    (["tvm-tune", "--model", "mlp", "--resume"], "--work-dir"),
    (["tvm-tune", "--workload", "matmul:M=8,N=8,K=8", "--work-dir", "x"], "--model"),
    (["tvm-tune", "--model", "mlp", "--load-model", "/nonexistent/b"], "no model bundle"),
    (["tvm-tune", "--model", "mlp", "--cost-model", "xgb", "--load-model", "b"], "ml2"),
])
def test_tvm_tune_model_bad_input(argv, words, capsys):
    code, err = _exit_code(argv, capsys)
    assert code == 2 and words in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_tile_prior_prefers_8_wide_vectors_and_few_outer_iterations():
    from ml2tuner.tvm.features import AGGREGATES, PRIOR_COLUMN
    from ml2tuner.tvm.trace_training import visible_from_config

    assert PRIOR_COLUMN == 2 + AGGREGATES.index("prior")

    def agg(*tiles):
        cfg = {f"d{i}.tile.{j}": f for i, t in enumerate(tiles) for j, f in enumerate(t)}
        row = visible_from_config({**cfg, "sketch": 1})
        return row[2 + AGGREGATES.index("last_inner")], row[PRIOR_COLUMN]
    # two spatial loops (4 factors) and a reduction (2): the last spatial loop is the vector axis
    assert agg([4, 1, 1, 2], [1, 2, 1, 64], [32, 4]) == (6, 3 + 0.5 * 1)     # 64 wide: too wide
    assert agg([2, 1, 4, 2], [1, 2, 4, 8], [32, 4]) == (3, 0)                # 8 wide, outer 2
    assert agg([1, 2, 4, 2], [1, 1, 1, 1], [32, 4]) == (1, 2 + 0.5)          # extent-1 loop skipped
    assert np.isnan(agg([64, 2], [4, 4])[1])                                   # no spatial loop


def test_visible_vector_rebuilt_from_a_config():
    from ml2tuner.tvm.features import AGGREGATES, MAX_TILES, PER_TILE, VISIBLE_WIDTH
    from ml2tuner.tvm.trace_training import visible_from_config
    # a spatial loop tiled 4 ways (2,1,4,8), a reduction loop 2 ways (16,4), unroll 64
    cfg = {"d0.tile.0": 2, "d0.tile.1": 1, "d0.tile.2": 4, "d0.tile.3": 8, "d1.tile.0": 16,
           "d1.tile.1": 4, "d2.cat": 64, "d3.loc": -1, "sketch": 99}
    row = visible_from_config(cfg)
    assert row.shape == (VISIBLE_WIDTH,) and row[:2].tolist() == [4, 99]
    agg = dict(zip(AGGREGATES, row[2:2 + len(AGGREGATES)]))
    # log2: innermost spatial 8 -> 3; two innermost 4*8 -> 5; outermost 2 -> 1; two outermost
    # 2*1 -> 1; innermost reduction 4 -> 2; compute tile 5 + 2
    # last spatial loop's innermost 8 -> 3; prior |3 - 3| + 0.5 |1 - 1|
    assert agg == {"spatial_inner": 3, "spatial_reg": 5, "spatial_outer": 1,
                   "spatial_outer2": 1, "reduce_inner": 2, "compute_tile": 7, "unroll": 64,
                   "n_tiles": 2, "last_inner": 3, "prior": 0}
    tiles = row[2 + len(AGGREGATES):2 + len(AGGREGATES) + MAX_TILES * len(PER_TILE)]
    assert tiles[:6].tolist() == [3, 5, 1, 2, 6, 4] and np.isnan(tiles[6:]).all()
    flat = row[2 + len(AGGREGATES) + MAX_TILES * len(PER_TILE):]
    assert flat[:8].tolist() == [2, 1, 4, 8, 16, 4, 64, -1] and np.isnan(flat[8:]).all()


def test_tvm_and_accelerator_traces_do_not_mix(tmp_path):
    from ml2tuner.errors import UserError
    from ml2tuner.tvm.trace_training import all_tvm
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps({"record": "header", "backend": "tvm-meta-schedule",
                             "space": {"name": "tvm:main"}}) + "\n")
    b.write_text(json.dumps({"record": "header", "space": {"name": "vta:c2"}}) + "\n")
    assert all_tvm([a]) and not all_tvm([b])
    with pytest.raises(UserError, match="cannot train one bundle"):
        all_tvm([a, b])


# ----- real TVM --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    if not TVM_OK:
        pytest.skip(f"TVM unavailable: {TVM_WHY}")
    from ml2tuner.tvm.relax_tune import tune_model
    wd = tmp_path_factory.mktemp("mlp") / "work"
    kw = dict(population_size=64, min_repeat_ms=10, time_tasks=True)
    first = tune_model("mlp", 24, work_dir=wd, **kw)      # 3 tasks x one batch of 8
    again = tune_model("mlp", 16, work_dir=wd, time_tasks=False)     # reuses, tunes nothing
    resumed = tune_model("mlp", 8, work_dir=wd, resume=True, **{**kw, "time_tasks": False})
    return {"wd": wd, "first": first, "again": again, "resumed": resumed}


@needs_tvm
def test_model_tuning_beats_untuned_and_keeps_outputs(mlp):
    r = mlp["first"]
    assert [t["name"] for t in r["tasks"]] and len(r["tasks"]) == 3
    assert r["trials_run"] == 24 and r["records"] == 24 and r["reused_records"] == 0
    assert [t["trials"] for t in r["tasks"]] == [8, 8, 8]
    assert r["max_abs_diff"] < 1e-3
    tuned = [t for t in r["tasks"] if t["tuned_s"]]
    assert tuned and all(t["tuned_s"] < t["untuned_s"] for t in tuned)   # naive loops are slow
    assert r["tuned_latency"] < r["untuned_latency"]
    assert (mlp["wd"] / "database_tuning_record.json").is_file()
    assert (mlp["wd"] / "ml2_model" / "manifest.json").is_file()


@needs_tvm
def test_second_call_reuses_the_database_and_resume_continues(mlp):
    again, resumed = mlp["again"], mlp["resumed"]
    assert again["trials_run"] == 0 and again["reused_records"] == 24
    assert again["tuned_latency"] < again["untuned_latency"]
    assert resumed["trials_run"] == 8 and resumed["records"] == 32
    lines = (mlp["wd"] / "trace.jsonl").read_text().splitlines()
    assert len(lines) == 1 + 32                      # one header, the resumed run appended
    head = json.loads(lines[0])
    assert head["space"]["name"].startswith("tvm:") and len(head["tasks"]) == 3


@needs_tvm
def test_cli_model_reuses_the_work_dir(mlp, capsys):
    assert cli_main(["tvm-tune", "--model", "mlp", "--work-dir", str(mlp["wd"])]) == 0
    out = capsys.readouterr().out
    assert "model mlp: 3 tasks, 0 new trials" in out and "reused 32 records" in out
    assert "end-to-end latency: untuned" in out and out.count("fused_matmul") == 3
    assert cli_main(["tvm-tune", "--model", "mlp", "--work-dir", str(mlp["wd"]), "--json"]) == 0
    d = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert d["untuned_latency"] > 0 and d["tuned_latency"] > 0 and len(d["tasks"]) == 3
    assert d["trials_run"] == 0 and d["records"] == 32


@needs_tvm
def test_trace_trains_a_bundle_that_warm_starts_the_cost_model(mlp, tmp_path, capsys):
    from ml2tuner.tvm.cost_model import ML2CostModel
    trace = mlp["wd"] / "trace.jsonl"
    assert cli_main(["train", "--traces", str(trace), "--out", str(tmp_path / "b"),
                     "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["rows"] == 32 and d["valid_rows"] >= 2
    cm = ML2CostModel(model_dir=str(tmp_path / "b"))
    assert cm.core.models["P"] is not None and cm.core.models["A"] is not None
    # the rows rebuilt from the trace are the rows the online cost model trained on (the
    # resumed run started from the first run's model, so its saved data holds all 32)
    with np.load(mlp["wd"] / "ml2_model" / "data.npz") as z:
        np.testing.assert_allclose(cm.core.vis, z["vis"])
        np.testing.assert_allclose(cm.core.hid, z["hid"], rtol=1e-6, atol=1e-9)
        assert cm.core.valid.tolist() == z["valid"].tolist()
    assert sorted(cm.core.groups) == sorted(set(json.loads(x)["task_hash"] for x in
                                                trace.read_text().splitlines()[1:]))


@needs_tvm
def test_tvm_tune_load_model_warm_starts(mlp, tmp_path, capsys):
    assert cli_main(["train", "--traces", str(mlp["wd"] / "trace.jsonl"), "--out",
                     str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert cli_main(["tvm-tune", "--workload", "dense:B=4,I=32,O=16", "--trials", "8",
                     "--load-model", str(tmp_path / "b"), "--population", "64", "--json"]) == 0
    d = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert d["trials"] == 8 and d["best_latency_s"] > 0
    assert set(d["time_split"]) == {"build_s", "run_s", "model_s", "other_s"}


@needs_tvm
def test_all_build_timeouts_are_reported_not_learned():
    from tvm.s_tir.meta_schedule.runner import RunnerResult

    from ml2tuner.tvm.cost_model import ML2CostModel
    cm = ML2CostModel()
    msg = "LocalBuilder: Timeout, killed after 30.0 seconds\n"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        # the Python object behind the TVM wrapper: these stand-ins never reach TVM
        cm._inst.update(None, [object()] * 4, [RunnerResult(None, msg) for _ in range(4)])
    assert any("make_builder" in str(x.message) for x in w)
    assert len(cm.core.valid) == 0 and cm.skipped_timeout_batches == 1


def _run_example(name, argv, monkeypatch):
    """Run an example's main() in this process. Its stock tune_tir / tune_relax call configures
    MetaSchedule's loggers, which fails on pytest's unnamed log-capture handler (not an issue
    outside pytest): detach it for the run, as tvm_tune does."""
    from ml2tuner.tvm.tune import _prepare_ms_logging, _restore_ms_logging
    monkeypatch.setattr(sys, "argv", [name, *argv])
    main = runpy.run_path(str(ROOT / "examples" / name), run_name="example")["main"]
    stashed = _prepare_ms_logging(False)
    try:
        return main(argv)
    finally:
        _restore_ms_logging(stashed, argv[argv.index("--work-dir") + 1])


@needs_tvm
def test_example_tune_tir_writes_its_own_trace_header(tmp_path, monkeypatch, capsys):
    trace = tmp_path / "m.jsonl"
    out = _run_example("tune_tir_ml2.py", ["--trials", "8", "--trace", str(trace),
                                           "--work-dir", str(tmp_path / "w")], monkeypatch)
    assert out["best_s"] and out["best_s"] > 0 and out["schedule"] is not None
    lines = trace.read_text().splitlines()
    head, rec = json.loads(lines[0]), json.loads(lines[1])
    assert head["backend"] == "tvm-meta-schedule" and head["space"]["name"] == "tvm:main"
    assert len(lines) == 9 and len(rec["hidden"]) == 329 and rec["task"] == "main"
    assert "candidates measured" in capsys.readouterr().out


@needs_tvm
def test_example_tune_relax_runs_the_tuned_model(tmp_path, monkeypatch, capsys):
    out = _run_example("tune_relax_ml2.py", ["--trials", "8", "--work-dir", str(tmp_path / "w")],
                       monkeypatch)
    assert out["output"].shape == (16, 10) and np.isfinite(out["output"]).all()
    assert len(out["database"].get_all_tuning_records()) == 8
    assert "tuning records" in capsys.readouterr().out


@needs_tvm
def test_va_proposal_scores_every_candidate_by_a():
    """proposal "va": A (per-store features) scores the whole population, gated by V."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_tvm import _spearman, _synthetic

    from ml2tuner.tvm.cost_model import ML2CostModel
    ctx, train_c, train_r, _, _ = _synthetic(96, seed_base=1)
    _, test_c, _, test_tput, test_ok = _synthetic(48, seed_base=30_001)
    cm = ML2CostModel(seed=0)
    for i in range(0, 96, 8):
        cm.update(ctx, train_c[i:i + 8], train_r[i:i + 8])
    state = cm.core.rng.bit_generator.state
    va = cm.proposal_model("va").predict(ctx, test_c)
    detail = cm.last
    assert len(detail["shortlist"]) == 48 and np.isfinite(detail["a"]).all()
    # the score: V's gate times exp of the blend of prior, P and A (the same random draw)
    from ml2tuner.tvm.features import hidden_matrix, visible_matrix
    cm.core.rng.bit_generator.state = state
    vis = visible_matrix(test_c)
    blend = cm.core.blend(cm.core._speed_parts(vis, hidden_matrix(ctx, test_c)))
    assert np.allclose(va, np.where(detail["p_valid"] >= 0.5, detail["p_valid"],
                                    1e-3 * detail["p_valid"]) * np.exp(blend) + 1e-12)
    v = test_ok
    assert _spearman(va[v], test_tput[v]) > 0.3 and va[~v].mean() < va[v].mean()
