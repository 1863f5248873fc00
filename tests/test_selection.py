"""The ML2 step (pool -> V -> compile -> A -> N) shared by ML2Tuner and the TVM cost model."""
import numpy as np
import pytest

from ml2tuner.selection import ml2_step, rank_best_first, screen_by_validity


def test_screen_keeps_pool_order_and_caps():
    pv = [0.9, 0.1, 0.8, 0.7, 0.2, 0.95]
    np.testing.assert_array_equal(screen_by_validity(pv, 0.5, 2), [0, 2, 3, 5])
    np.testing.assert_array_equal(screen_by_validity(pv, 0.5, 2, cap=3), [0, 2, 3])
    np.testing.assert_array_equal(screen_by_validity(pv, 0.5, 2, active=False, cap=4),
                                  [0, 1, 2, 3])


def test_screen_fills_up_with_the_likeliest_valid_ties_in_pool_order():
    pv = [0.1, 0.3, 0.05, 0.3, 0.6, 0.3]
    # one passes; the three 0.3s tie: the earliest in the pool (P's better ones) come first
    np.testing.assert_array_equal(screen_by_validity(pv, 0.5, 3), [4, 1, 3])
    np.testing.assert_array_equal(screen_by_validity(pv, 0.5, 5), [4, 1, 3, 5, 0])
    assert screen_by_validity([], 0.5, 3).size == 0


def test_rank_best_first_drops_nan_and_keeps_ties():
    assert rank_best_first(["a", "b", "c", "d"], [1.0, np.nan, 3.0, 1.0]) == ["c", "a", "d"]
    with pytest.raises(ValueError, match="2 scores for 3"):
        rank_best_first([1, 2, 3], [1.0, 2.0])
    with pytest.raises(ValueError, match="needs an rng"):
        rank_best_first([1, 2], None)
    a = rank_best_first(list(range(10)), None, np.random.default_rng(3))
    b = rank_best_first(list(range(10)), None, np.random.default_rng(3))
    assert a == b and sorted(a) == list(range(10)) and a != list(range(10))


def test_step_runs_v_then_compile_then_ranking():
    pool = [10, 11, 12, 13, 14, 15]
    pv = dict(zip(pool, [0.9, 0.1, 0.8, 0.7, 0.2, 0.6]))
    calls = []

    def compile_(c):                # 13 fails to compile; the incumbent's neighbour 99 is added
        calls.append(("compile", list(c)))
        return [i for i in c if i != 13] + [99]

    def score(c):
        calls.append(("score", list(c)))
        return np.array([{10: 1.0, 12: 5.0, 15: 2.0, 99: 3.0, 7: np.nan}[i] for i in c])

    s = ml2_step(pool, 2, p_valid=lambda p: np.array([pv[i] for i in p]), v_threshold=0.5,
                 cap=3, compile=compile_, also=lambda c: [7], score=score)
    assert calls == [("compile", [10, 12, 13]), ("score", [10, 12, 99, 7])]
    assert s.compiled == [10, 12, 99] and s.ranked == [12, 99, 10]
    assert s.n_rejected == 2 and s.p_valid.tolist() == [0.9, 0.1, 0.8, 0.7, 0.2, 0.6]


def test_tvm_cost_model_selects_with_the_shared_step():
    pytest.importorskip("tvm")
    from ml2tuner.tvm.cost_model import ML2Models
    from ml2tuner.tvm.features import HIDDEN_WIDTH, VISIBLE_WIDTH
    rng = np.random.default_rng(0)
    m = ML2Models(seed=0, warmup=4, v_min_failures=1)
    n = 60
    vis, hid = rng.random((n, VISIBLE_WIDTH)), rng.random((n, HIDDEN_WIDTH))
    valid = vis[:, 0] > 0.3
    cost = 1.0 + vis[:, 1] + hid[:, 0]
    m.add("t", vis, hid, valid, np.where(valid, cost, np.nan))
    m.fit()
    pool_vis, pool_hid = rng.random((12, VISIBLE_WIDTH)), rng.random((12, HIDDEN_WIDTH))
    asked = []

    def hidden_fn(idx):
        asked.append(np.asarray(idx).tolist())
        return pool_hid[idx]

    state = m.rng.bit_generator.state
    out = m.select(pool_vis, hidden_fn, 4)
    pv = m.p_valid(pool_vis)
    ok = screen_by_validity(pv, m.v_threshold, 4)
    assert asked == [ok.tolist()]                      # hidden features of V's survivors only
    m.rng.bit_generator.state = state                  # the same draw: the blend of prior, P, A
    score = m.blend(m._speed_parts(pool_vis[ok], pool_hid[ok]))
    assert out["picked"].tolist() == rank_best_first(ok.tolist(), score)[:4]
    assert out["n_rejected"] == int((pv < m.v_threshold).sum())
    assert 0 < out["n_rejected"] < 8 and m.models["A"] is not None   # V screens; A ranks
