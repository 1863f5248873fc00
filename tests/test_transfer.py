"""Gaussian-copula prior and the hypergeometric budget estimate (arXiv 2401.04669)."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from ml2tuner import cli
from ml2tuner.errors import UserError
from ml2tuner.measure import MeasureResult, Status
from ml2tuner.space import Space
from ml2tuner.traces import make_header, write_trace
from ml2tuner.transfer import GaussianCopula, GCPrior, budget_estimate, gc_initial_design

ROOT = Path(__file__).resolve().parents[1]
XS = (1, 2, 4, 8, 16, 32, 64)


def _synthetic(tmp_path, d: int, invalid_all=False) -> Path:
    """A task whose best x is d (cost grows with log-distance from it); x=64 is invalid."""
    sp = Space([("x", XS), ("y", (1, 2))], name=f"syn-d{d}")
    res = []
    for i in range(len(sp)):
        c = sp.index_to_config(i)
        if invalid_all or c["x"] == 64:
            res.append(MeasureResult(i, c, Status.COMPILE_ERROR, error="sram_overflow: x"))
        else:
            cost = 1.0 + (math.log2(c["x"]) - math.log2(d)) ** 2 + 0.1 * c["y"]
            res.append(MeasureResult(i, c, Status.OK, cost=cost))
    path = tmp_path / f"syn{d}.jsonl"
    write_trace(path, make_header(sp, descriptor={"d": d}, workload_name=f"syn{d}",
                                  accel={"name": "syn"}), res)
    return path


def test_budget_estimate_matches_hand_computed_hypergeometric():
    # |S| = 100, C = 40: I' = max(1, 10 - floor(0.05 * 60)) = 7 ideal among 40.
    # P(no ideal in k draws) = prod_{j<k} (33 - j) / (40 - j): 0.1092 at k = 10, 0.0837 at 11.
    none = np.cumprod([(33 - j) / (40 - j) for j in range(40)])
    assert none[9] > 0.1 > none[10]
    assert budget_estimate(100, 40, p=0.9) == 11
    # C = |S|: plain random search for the top 10 %: 10 ideal among 100
    none = np.cumprod([(90 - j) / (100 - j) for j in range(100)])
    assert budget_estimate(100, 100, p=0.9) == int(np.argmax(1 - none >= 0.9)) + 1 == 20
    assert budget_estimate(100, 40, p=0.5) < 11
    for bad in ((100, 0), (100, 101), (0, 1)):
        with pytest.raises(UserError):
            budget_estimate(*bad)
    with pytest.raises(UserError):
        budget_estimate(100, 40, p=0)


def test_copula_conditional_sampling_follows_the_condition():
    rng = np.random.default_rng(0)
    d = rng.integers(0, 6, 3000).astype(float)
    x = d + rng.normal(0, 0.5, d.size)           # x tracks the conditioning column
    w = rng.normal(size=d.size)                  # independent of both
    cop = GaussianCopula().fit(np.column_stack([x, d, w]))
    lo = cop.sample(2000, {1: 0.0}, np.random.default_rng(1))
    hi = cop.sample(2000, {1: 5.0}, np.random.default_rng(1))
    assert (lo[:, 1] == 0).all() and (hi[:, 1] == 5).all()
    assert hi[:, 0].mean() - lo[:, 0].mean() > 3
    assert abs(hi[:, 2].mean() - lo[:, 2].mean()) < 0.2
    assert set(np.unique(lo[:, 0])) <= set(x)    # empirical marginals: observed values only


def test_gc_prior_best_config_depends_on_descriptor(tmp_path):
    src = [_synthetic(tmp_path, d) for d in (1, 2, 4, 16, 32)]
    sp = Space([("x", XS), ("y", (1, 2))], name="new")
    for d in (2, 16):
        top = gc_initial_design(sp, {"d": d}, src, n=3, seed=0)
        xs = [sp.index_to_config(i)["x"] for i in top]
        assert len(top) == len(set(top)) == 3
        assert abs(math.log2(xs[0]) - math.log2(d)) <= 1, (d, xs)
    # V drops what it rejects; a space with no nearby values drops the samples as outside
    top = gc_initial_design(sp, {"d": 16}, src, n=20, seed=0,
                            validity=lambda idx: [sp.index_to_config(i)["y"] == 1 for i in idx])
    assert top and all(sp.index_to_config(i)["y"] == 1 for i in top)
    far = Space([("x", (4096,)), ("y", (1, 2))], name="far")
    res = GCPrior(src).generate(far, {"d": 16}, 5)
    assert res.indices == [] and res.n_outside == res.n_generated


def test_empty_top_quantile_and_bad_input(tmp_path):
    bad = [_synthetic(tmp_path, 8, invalid_all=True)]
    sp = Space([("x", XS), ("y", (1, 2))])
    with pytest.raises(UserError, match="top quantile"):
        gc_initial_design(sp, {"d": 8}, bad, n=3)
    with pytest.raises(UserError, match="not found"):
        gc_initial_design(sp, {"d": 8}, [tmp_path / "missing.jsonl"], n=3)
    with pytest.raises(UserError, match="lack knob"):
        gc_initial_design(Space([("z", (1, 2))]), {"d": 8}, [_synthetic(tmp_path, 2)], n=3)


def test_gc_on_shipped_traces_with_bundle_validity(tmp_path):
    from ml2tuner.offline import train
    from ml2tuner.replay import ReplayMeasurer
    t = ROOT / "traces" / "vta-1x16"
    src = [t / f"resnet18.{c}.jsonl.gz" for c in ("C9", "C10")]
    train(src, tmp_path / "b", p_params={"n_estimators": 20}, a_params={"n_estimators": 20})
    m = ReplayMeasurer.from_file(t / "resnet18.C11.jsonl.gz")
    top = gc_initial_design(m.space, m, src, n=10, seed=0, validity=tmp_path / "b")
    assert 0 < len(top) <= 10 and len(set(top)) == len(top)
    assert all(0 <= i < len(m.space) for i in top)


def test_cli_prior(tmp_path, capsys):
    src = [str(ROOT / "traces" / "vta-1x16" / f"resnet18.{c}.jsonl.gz") for c in ("C9", "C10")]
    rc = cli.main(["prior", "--traces", *src, "--workload", "resnet18.C11", "-n", "4", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(d["configs"]) == 4 and d["budget_estimate"] >= 1
    bad = str(_synthetic(tmp_path, 8, invalid_all=True))
    rc = cli.main(["prior", "--traces", bad, "--workload", "resnet18.C11"])
    err = capsys.readouterr().err
    assert rc == 2 and "top quantile" in err and len(err.strip().splitlines()) == 1
