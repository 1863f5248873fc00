"""The session API: one tuning run with warm start, copula design, trace, resume, callbacks."""
from pathlib import Path

import pytest

from ml2tuner.errors import UserError
from ml2tuner.replay import ReplayMeasurer
from ml2tuner.session import tune_task
from ml2tuner.traces import read_trace
from ml2tuner.transfer import gc_initial_design

ROOT = Path(__file__).resolve().parents[1]
T = ROOT / "traces" / "vta-1x16"
TASK = T / "resnet18.C11.jsonl.gz"
SRC = [T / "resnet18.C9.jsonl.gz", T / "resnet18.C10.jsonl.gz"]
FAST = {"explorer": "exhaustive"}


@pytest.fixture(scope="module")
def measurer():
    return ReplayMeasurer.from_file(TASK)


def test_trace_resume_and_callbacks(measurer, tmp_path):
    trace = tmp_path / "t.jsonl"
    seen = []
    measurer.reset()
    first = tune_task(measurer, "random", 8, seed=3, trace=trace,
                      callbacks=[lambda t, r: seen.append(r.index)])
    assert [r.index for r in first.result.history] == seen and len(seen) == 8
    measurer.reset()
    second = tune_task(measurer, "random", 12, seed=3, trace=trace, resume=True)
    assert [r.index for r in second.resumed] == seen
    assert [r.index for r in second.result.history[:8]] == seen and second.result.resumed == 8
    new = [r.index for r in second.result.history[8:]]
    assert len(new) == 4 and not set(new) & set(seen)      # nothing measured twice
    assert [r.index for r in read_trace(trace).results] == seen + new


def test_gc_design_is_measured_first(measurer):
    n_init = 6
    design = gc_initial_design(measurer.space, TASK, SRC, n_init, seed=1)
    # the tuner's compile filter drops what fails to compile; the rest is measured in order
    compiles = [i for i in design if measurer.data.hidden[i] is not None]
    measurer.reset()
    run = tune_task(measurer, "ml2tuner", 10, seed=1, hp={**FAST, "n_init": n_init},
                    init="gc", source_traces=SRC)
    assert compiles and [r.index for r in run.result.history[:len(compiles)]] == compiles


def test_warm_start_installs_the_bundle(measurer):
    measurer.reset()
    run = tune_task(measurer, "ml2tuner", 4, seed=0, hp=FAST, model=ROOT / "models" / "vta-1x16")
    assert run.tuner.hp["n_init"] == 0 and run.tuner.warm_start["model"].endswith("vta-1x16")
    assert run.result.n_measured == 4


@pytest.mark.parametrize("kw, msg", [
    (dict(tuner="random", model="models/vta-1x16"), "needs the ml2tuner tuner"),
    (dict(tuner="random", init="gc", source_traces=SRC), "needs the ml2tuner tuner"),
    (dict(init="gc"), "needs source traces"),
    (dict(source_traces=SRC), "only used by the gc"),
    (dict(resume=True), "resume needs a trace"),
    (dict(trials=0), "trials must be >= 1"),
    (dict(init="copula"), "init must be"),
])
def test_bad_arguments_are_refused_before_measuring(measurer, kw, msg):
    measurer.reset()
    with pytest.raises(UserError, match=msg):
        tune_task(measurer, **kw)
    assert measurer.sim_clock.seconds == 0
