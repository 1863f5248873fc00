"""Nothing lost, nothing wrong accepted: each test reproduces one way a trace, an exhaustive trace
or a model bundle used to be lost or corrupted, and checks that it no longer is."""
import json
import subprocess
import sys
import time

import pytest

from ml2tuner.accel.measurer import AccelMeasurer
from ml2tuner.cli import main
from ml2tuner.traces import TraceWriter, make_header, read_trace

WL = "resnet18.C9"          # 480 configurations: quick to measure exhaustively


def _cli(*args):
    return [sys.executable, "-m", "ml2tuner.cli", *args]


def run(args, capsys):
    rc = main(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def one_line_error(rc, err, needle):
    assert rc == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert needle in err, err


def tune_args(trace, trials=8, *extra):
    return ["tune", "--tuner", "random", "--workload", WL, "--trials", str(trials), "--trace",
            str(trace), "--quiet", "--json", *extra]


@pytest.fixture
def trace5(tmp_path, capsys):
    """A trace of 5 random-tuner measurements written by `tune`."""
    trace = tmp_path / "t.jsonl"
    rc, _, err = run(tune_args(trace, 5), capsys)
    assert rc == 0, err
    return trace


def _rewrite(path, fn):
    lines = [json.loads(ln) for ln in path.read_text().splitlines()]
    fn(lines)
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))


# ----- 1. two writers on one trace -------------------------------------------------------------
def test_a_second_writer_gets_one_clear_line(trace5, capsys):
    m = AccelMeasurer("vta-1x16", WL)
    holder = TraceWriter(trace5, read_trace(trace5).header)     # another run holds the trace
    p = subprocess.run(_cli(*tune_args(trace5, 8, "--resume")), capture_output=True, text=True)
    one_line_error(p.returncode, p.stderr, "being written by another ml2tuner process")
    assert len(read_trace(trace5).results) == 5                  # nothing appended
    holder.close()
    rc, out, err = run(tune_args(trace5, 8, "--resume"), capsys)
    assert rc == 0, err
    assert json.loads(out)["n_resumed"] == 5
    t = read_trace(trace5)
    assert len(t.results) == 8 and len({r.index for r in t.results}) == 8
    assert m.space.to_dict() == t.header["space"]


def test_a_trace_two_runs_wrote_to_is_refused(trace5, capsys):
    lines = trace5.read_text().splitlines()
    trace5.write_text("\n".join(lines + lines[1:3]) + "\n")   # duplicate seq 0 and 1
    rc, _, err = run(tune_args(trace5, 8, "--resume"), capsys)
    one_line_error(rc, err, "'seq' 0 where 5 was expected")


# ----- 2. --resume trusts nothing it reads -------------------------------------------------------
@pytest.mark.parametrize("mutate,needle", [
    (lambda ls: ls[2].update(index=10 ** 6), "outside the space of size 480"),
    (lambda ls: ls[2]["config"].update(tile_co=32 if ls[2]["config"]["tile_co"] != 32 else 1),
     "is not the configuration of index"),
    (lambda ls: ls[3].update(status="ok", cost=-1e-3), "positive finite 'cost'"),
    (lambda ls: ls[3].update(status="ok", cost=0), "positive finite 'cost'"),
    (lambda ls: ls[0]["accel"].update(clock_mhz=200.0), "another 'accel'"),
    (lambda ls: ls[0]["accel"]["timing"].update(dma_latency=41), "another 'accel'"),
    (lambda ls: ls[0].update(workload="conv2d:N=1,H=14,W=14,IC=256,OC=512,K=3,pad=1,stride=1"),
     "another 'workload'"),
    (lambda ls: ls[0].update(noise=0.1), "another 'noise'"),
    (lambda ls: ls[1].update(index="3"), "'index' must be a non-negative integer"),
    (lambda ls: ls[1].update(status="fine"), "'status' must be one of"),
])
def test_resume_validates_header_and_every_record(trace5, capsys, mutate, needle):
    _rewrite(trace5, mutate)
    before = trace5.read_bytes()
    rc, _, err = run(tune_args(trace5, 8, "--resume"), capsys)
    one_line_error(rc, err, needle)
    assert trace5.read_bytes() == before


# ----- 3. a complete last record without its newline ----------------------------------------------
def test_complete_last_record_without_newline_is_kept(trace5, capsys):
    data = trace5.read_bytes()
    trace5.write_bytes(data.rstrip(b"\n"))
    before = read_trace(trace5).results
    assert len(before) == 5
    rc, out, err = run(tune_args(trace5, 8, "--resume"), capsys)
    assert rc == 0, err
    assert json.loads(out)["n_resumed"] == 5
    lines = [json.loads(ln) for ln in trace5.read_text().splitlines()]
    assert [r["seq"] for r in lines[1:]] == list(range(8))
    assert [r["index"] for r in lines[1:6]] == [r.index for r in before]


def test_truncated_last_record_is_cut_and_remeasured(trace5, capsys):
    data = trace5.read_bytes()
    trace5.write_bytes(data[:-25])                  # the last record cut mid-write
    rc, out, err = run(tune_args(trace5, 8, "--resume"), capsys)
    assert rc == 0, err
    assert json.loads(out)["n_resumed"] == 4
    t = read_trace(trace5)
    assert len(t.results) == 8 and not t.warnings


# ----- 6. a kill during the header write -------------------------------------------------------
@pytest.mark.parametrize("resume", [False, True])
def test_torn_header_blocks_neither_fresh_run_nor_resume(tmp_path, capsys, resume):
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(b'{"record":"header","schema":1,"tool":"ml2tu')
    rc, out, err = run(tune_args(trace, 6, *(["--resume"] if resume else [])), capsys)
    assert rc == 0, err
    assert json.loads(out)["n_resumed"] == 0 and len(read_trace(trace).results) == 6


def test_a_file_that_is_not_a_trace_is_never_overwritten(tmp_path, capsys):
    trace = tmp_path / "notes.jsonl"
    trace.write_bytes(b"my notes, no newline")
    rc, _, err = run(tune_args(trace, 6), capsys)
    one_line_error(rc, err, "exists")
    rc, _, err = run(tune_args(trace, 6, "--resume"), capsys)
    one_line_error(rc, err, "no header record")
    assert trace.read_bytes() == b"my notes, no newline"


# ----- 4. bruteforce --------------------------------------------------------------------------
def _records(path):
    return sorted((r.to_record() for r in read_trace(path).results), key=lambda r: r["index"])


def test_bruteforce_refuses_existing_out_and_resumes(tmp_path, capsys):
    out = tmp_path / "c9.jsonl"
    rc, _, err = run(["bruteforce", "--workload", WL, "--out", str(out), "--quiet"], capsys)
    assert rc == 0, err
    full = _records(out)
    assert [r["index"] for r in full] == list(range(480))
    before = out.read_bytes()
    rc, _, err = run(["bruteforce", "--workload", WL, "--out", str(out), "--quiet"], capsys)
    one_line_error(rc, err, "exists; pass --force")
    assert out.read_bytes() == before
    # an interrupted run: its partial file holds the first 100 records (one cut short)
    partial = tmp_path / "c9b.jsonl.partial"
    lines = before.splitlines(keepends=True)
    partial.write_bytes(b"".join(lines[:101]) + lines[101][:30])
    rc, out2, err = run(["bruteforce", "--workload", WL, "--out", str(tmp_path / "c9b.jsonl"),
                         "--quiet", "--resume", "--json"], capsys)
    assert rc == 0, err
    assert json.loads(out2)["resumed"] == 100 and not partial.exists()
    assert _records(tmp_path / "c9b.jsonl") == full
    # without --resume an interrupted run's partial file is not silently discarded
    partial.write_bytes(b"".join(lines[:50]))
    rc, _, err = run(["bruteforce", "--workload", WL, "--out", str(tmp_path / "c9b.jsonl"),
                      "--force", "--quiet"], capsys)
    one_line_error(rc, err, "pass --resume")


def test_bruteforce_gz_output_equals_plain(tmp_path, capsys):
    rc, _, err = run(["bruteforce", "--workload", WL, "--out", str(tmp_path / "a.jsonl.gz"),
                      "--quiet"], capsys)
    assert rc == 0, err
    assert not (tmp_path / "a.jsonl.partial").exists()
    assert len(_records(tmp_path / "a.jsonl.gz")) == 480


# ----- 5. outputs checked before the work ------------------------------------------------------
def test_outputs_are_checked_before_any_work(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    adir = tmp_path / "adir"
    adir.mkdir()
    cases = [
        (["hpo", "--train", "a.json", "--test", "b.json", "--evals", "2", "--out", str(afile)],
         "is not a directory"),
        (["tvm-tune", "--workload", "matmul:M=8,N=8,K=8", "--save-model", str(afile)],
         "is not a directory"),
        (["bruteforce", "--workload", WL, "--out", str(adir)], "is a directory"),
        (["bruteforce", "--workload", WL, "--out", str(afile / "x.jsonl")], "is not a directory"),
        (["tune", "--workload", WL, "--trials", "5", "--plot", str(afile / "x.png")],
         "is not a directory"),
        (["tune", "--workload", WL, "--trials", "5", "--plot", str(tmp_path / "x.txt")],
         "unsupported file type"),
        (["tune", "--workload", WL, "--trials", "5", "--trace", str(adir)], "is a directory"),
        (["train", "--traces", "x.jsonl", "--out", str(afile)], "is not a directory"),
    ]
    for args, needle in cases:
        t0 = time.perf_counter()
        rc, _, err = run(args, capsys)
        one_line_error(rc, err, needle)
        assert time.perf_counter() - t0 < 5, args       # refused up front, not after the work
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile"]


def test_plot_folder_is_created(tmp_path, capsys):
    plot = tmp_path / "new" / "sub" / "p.png"
    rc, _, err = run(["tune", "--tuner", "random", "--workload", WL, "--trials", "5", "--plot",
                      str(plot), "--quiet"], capsys)
    assert rc == 0, err
    assert plot.stat().st_size > 1000


# ----- retraining over a bundle -----------------------------------------------------------------
def test_train_replaces_a_bundle_whole_and_never_a_foreign_folder(tmp_path, capsys):
    from ml2tuner.surrogates.bundle import load_bundle
    out = tmp_path / "c9.jsonl"
    assert run(["bruteforce", "--workload", WL, "--out", str(out), "--quiet"], capsys)[0] == 0
    bundle = tmp_path / "b"
    assert run(["train", "--traces", str(out), "--out", str(bundle)], capsys)[0] == 0
    first = json.loads((bundle / "manifest.json").read_text())
    assert run(["train", "--traces", str(out), "--out", str(bundle), "--seed", "1"],
               capsys)[0] == 0
    second = load_bundle(bundle).manifest
    assert second["training"]["seed"] == 1 and first["training"]["seed"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "c9.jsonl"]  # no leftovers
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    rc, _, err = run(["train", "--traces", str(out), "--out", str(foreign)], capsys)
    one_line_error(rc, err, "not a model bundle")
    assert (foreign / "thesis.tex").read_text() == "precious"


# ----- the TVM cost-model loader gets the bundle checks -------------------------------------------
def test_tvm_cost_model_loader_checks_path_and_hash(tmp_path):
    from ml2tuner.tvm._env import tvm_available
    if not tvm_available()[0]:
        pytest.skip("TVM is not installed (the tvm extra)")
    import numpy as np

    from ml2tuner.errors import UserError
    from ml2tuner.tvm.cost_model import ML2Models
    from ml2tuner.tvm.features import HIDDEN_WIDTH, VISIBLE_WIDTH
    rng = np.random.default_rng(0)
    m = ML2Models(seed=0, warmup=8)
    vis = rng.integers(1, 9, size=(6, VISIBLE_WIDTH)).astype(float)
    valid = np.array([True, False, True, False, True, True])
    m.add("g", vis, np.zeros((6, HIDDEN_WIDTH)), valid, np.where(valid, 1e-4, np.nan))
    m.save(tmp_path / "b")
    ML2Models(seed=0).load(tmp_path / "b")                       # intact: loads
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    (tmp_path / "outside.npz").write_bytes((tmp_path / "b" / "data.npz").read_bytes())
    for change, needle in [({"data": "../outside.npz"}, "outside the bundle"),
                           ({"data": "/etc/passwd"}, "outside the bundle"),
                           ({"data": "gone.npz"}, "is missing"),
                           ({"data_sha256": "0" * 64}, "does not match the sha256"),
                           ({"groups": "g"}, "malformed")]:
        bad = json.loads(json.dumps(manifest))
        bad["tvm_cost_model"].update(change)
        (tmp_path / "b" / "manifest.json").write_text(json.dumps(bad))
        with pytest.raises(UserError, match=needle):
            ML2Models(seed=0).load(tmp_path / "b")
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest))
    np.savez(tmp_path / "b" / "data.npz", vis=vis[:1], hid=np.zeros((1, HIDDEN_WIDTH)),
             valid=valid[:1], cost=np.ones(1), group=np.zeros(1))
    with pytest.raises(UserError, match="does not match the sha256"):
        ML2Models(seed=0).load(tmp_path / "b")
