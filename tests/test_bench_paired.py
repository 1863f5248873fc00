"""Benchmark helpers: the paired difference `benchmarks/gpu_caches.py` prints beside its
checks, and the result-name check the benchmarks' --name options share."""
import argparse
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
gpu_caches = pytest.importorskip("gpu_caches")
_data = pytest.importorskip("_data")


def _cells(values):
    return {(g, 200, peer): [{"opt_over_best": v} for v in vs]
            for (g, peer), vs in values.items()}


def test_paired_difference_averages_caches_then_pairs_repeats():
    cells = _cells({("a", "ml2tuner"): [1.0, 0.9, 0.8], ("a", "xgb"): [0.9, 0.9, 0.9],
                    ("b", "ml2tuner"): [1.0, 1.0, 1.0], ("b", "xgb"): [1.0, 0.8, 1.0]})
    mean, se = gpu_caches.paired_difference(cells, ["a", "b"], 200, "xgb", 3)
    d = np.array([(0.1 + 0.0) / 2, (0.0 + 0.2) / 2, (-0.1 + 0.0) / 2])
    assert mean == pytest.approx(d.mean())
    assert se == pytest.approx(d.std(ddof=1) / np.sqrt(3))


def test_paired_difference_needs_every_repeat_of_both():
    cells = _cells({("a", "ml2tuner"): [1.0, 0.9], ("a", "xgb"): [0.9]})
    assert gpu_caches.paired_difference(cells, ["a"], 200, "xgb", 2) is None
    assert gpu_caches.paired_difference(cells, ["a"], 200, "random", 2) is None


@pytest.mark.parametrize("name", ["gpu_caches_seed1", "hpo-gpu-wide2"])
def test_plain_name_keeps_file_names(name):
    assert _data.plain_name(name) == name


@pytest.mark.parametrize("name", ["../x", "a/b", "a b", "", "x.txt"])
def test_plain_name_refuses_paths(name):
    with pytest.raises(argparse.ArgumentTypeError):
        _data.plain_name(name)


def test_provenance_ignores_result_files_only(tmp_path, monkeypatch):
    """Benchmarks run side by side in one checkout write result files; those do not make the
    recorded commit "+dirty", a change to anything else does."""
    import subprocess

    def git(*a):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *a], cwd=tmp_path,
                       check=True, capture_output=True)
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "benchmarks" / "results" / "r.txt").write_text("old\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "c")
    monkeypatch.setattr(_data, "ROOT", tmp_path)
    head = _data.provenance([])["commit"]
    assert len(head) == 40
    (tmp_path / "benchmarks" / "results" / "r.txt").write_text("new\n")
    assert _data.provenance([])["commit"] == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert _data.provenance([])["commit"] == head + "+dirty"
