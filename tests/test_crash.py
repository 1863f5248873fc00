"""Crash tests: `kill -9` at seeded random points of `tune`, `bruteforce` and `train`, and two
writers started together on one trace. Whatever the moment of the kill, nothing already on disk
is lost or damaged, and a rerun (or `--resume`) finishes the work."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ml2tuner.surrogates.bundle import load_bundle
from ml2tuner.traces import read_trace

ROOT = Path(__file__).resolve().parents[1]
RNG = random.Random(14)       # seeded: the kill points are random but reproducible


def _cli(*args):
    return [sys.executable, "-m", "ml2tuner.cli", *args]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def kill_when(proc, ready, delay: float, timeout: float = 60.0) -> bool:
    """SIGKILL `proc` `delay` seconds after `ready()` first holds; False if it ended first."""
    deadline = time.time() + timeout
    while not ready():
        if proc.poll() is not None or time.time() > deadline:
            proc.wait()
            return False
        time.sleep(0.005)
    time.sleep(delay)
    if proc.poll() is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def check_trace(path: Path, n_max: int):
    """Readable; seq 0..n-1 in order; no configuration twice."""
    t = read_trace(path)
    lines = [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
    assert [r["seq"] for r in lines[1:len(t.results) + 1]] == list(range(len(t.results)))
    assert len({r.index for r in t.results}) == len(t.results) <= n_max
    return t


def test_tune_killed_at_random_points_loses_nothing(tmp_path):
    trace = tmp_path / "t.jsonl"
    trials = 150
    args = _cli("tune", "--tuner", "random", "--workload", "resnet18.C2", "--trials", str(trials),
                "--trace", str(trace), "--resume", "--quiet")
    kept = []
    # first kill: at a random moment from start-up on (before, during or after the header)
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kill_when(proc, lambda: True, RNG.uniform(0.0, 4.0))
    for _ in range(3):
        if trace.exists():
            kept = [r.to_record() for r in check_trace(trace, trials).results]
        k = len(kept) + RNG.randint(1, 40)
        proc = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        kill_when(proc, lambda: _lines(trace) >= k + 1, RNG.uniform(0.0, 0.05))
        t = check_trace(trace, trials)
        assert [r.to_record() for r in t.results[:len(kept)]] == kept     # nothing lost
    p = subprocess.run(args + ["--json"], env=_env(), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    t = check_trace(trace, trials)
    assert len(t.results) == trials and json.loads(p.stdout)["n_measured"] == trials


def test_bruteforce_killed_keeps_the_previous_out_and_resumes(tmp_path):
    out = tmp_path / "c9.jsonl"
    base = _cli("bruteforce", "--workload", "resnet18.C9", "--out", str(out), "--quiet")
    assert subprocess.run(base, env=_env(), capture_output=True).returncode == 0
    good = out.read_bytes()
    full = sorted(json.dumps(r.to_record()) for r in read_trace(out).results)
    partial = tmp_path / "c9.jsonl.partial"
    kills = 0
    for _ in range(2):
        k = RNG.randint(1, 300)
        proc = subprocess.Popen(base + ["--force", "--resume"], env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        killed = kill_when(proc, lambda: _lines(partial) >= k + 1, RNG.uniform(0.0, 0.05))
        assert out.read_bytes() == good          # the earlier complete trace is untouched
        if killed:
            kills += 1
            check_trace(partial, 480)
    assert kills >= 1
    p = subprocess.run(base + ["--force", "--resume", "--json"], env=_env(), capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    assert not partial.exists()
    assert sorted(json.dumps(r.to_record()) for r in read_trace(out).results) == full


def test_train_killed_over_a_bundle_leaves_a_loadable_one(tmp_path):
    traces = sorted(str(p) for p in (ROOT / "traces" / "vta-1x16").glob("*.jsonl*"))[:6]
    if not traces:
        pytest.skip("no shipped traces in this checkout")
    out = tmp_path / "b"
    base = _cli("train", "--traces", *traces, "--out", str(out))
    assert subprocess.run(base, env=_env(), capture_output=True).returncode == 0
    seeds, kills = {0}, 0
    for seed in (1, 2, 3):
        proc = subprocess.Popen(base + ["--seed", str(seed)], env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # kill while the new bundle is being built beside the old one, or just after
        staged = lambda: any(p.name.startswith(".b.new-") for p in tmp_path.iterdir())  # noqa
        if kill_when(proc, staged, RNG.uniform(0.0, 0.4)):
            kills += 1
        else:
            seeds.add(seed)              # it finished first: its bundle is the current one
        b = load_bundle(out)             # whatever the moment, a complete bundle is there
        assert b.manifest["training"]["seed"] in seeds | {seed}
        seeds.add(b.manifest["training"]["seed"])
    assert kills >= 1


def test_two_writers_started_together(tmp_path):
    trace = tmp_path / "t.jsonl"
    trials = 200
    args = _cli("tune", "--tuner", "random", "--workload", "resnet18.C2", "--trials", str(trials),
                "--trace", str(trace), "--resume", "--quiet", "--json")
    procs = [subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    rcs = sorted(p.returncode for p in procs)
    t = check_trace(trace, trials)
    assert len(t.results) == trials
    if rcs == [0, 2]:                    # the usual case: the second is turned away
        err = next(e for p, (_, e) in zip(procs, outs) if p.returncode == 2)
        assert "being written by another ml2tuner process" in err and err.count("\n") == 1
    else:                                # the first had finished: the second resumed it whole
        assert rcs == [0, 0]
        assert sorted(json.loads(o)["n_resumed"] for o, _ in outs)[1] == trials
