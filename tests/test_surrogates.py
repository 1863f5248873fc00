"""Model A's offset: it learns the ratio of the real cost to a static bound, so it can predict
costs outside the range it was trained on, which plain trees cannot."""
import numpy as np

from ml2tuner.surrogates import OFFSET_FEATURE, AdvancedModel, offset_column


def test_offset_column_finds_the_static_bound():
    assert offset_column(["tile_h", OFFSET_FEATURE, "x"]) == 1
    assert offset_column(["tile_h", "x"]) is None


def test_offset_lets_a_extrapolate_to_larger_costs():
    rng = np.random.default_rng(0)
    bound = np.exp(rng.uniform(0, 3, 400))             # training costs span e^0 .. e^3
    knob = rng.integers(1, 4, 400).astype(float)
    cost = bound * (1.0 + 0.2 * knob)                   # the real cost: bound x a knob effect
    X = np.column_stack([knob, bound])
    plain = AdvancedModel(n_estimators=80, max_depth=3).fit(X, cost)
    offset = AdvancedModel(n_estimators=80, max_depth=3, offset_col=1).fit(X, cost)
    big = np.exp(np.linspace(5, 6, 20))                 # a larger layer: outside the range
    Xt = np.column_stack([np.full(20, 2.0), big])
    truth = np.log(big * 1.4)
    err_plain = np.abs(plain.predict_log(Xt) - truth).max()
    err_offset = np.abs(offset.predict_log(Xt) - truth).max()
    assert err_offset < 0.05 < 1.5 < err_plain
    assert offset.get_params()["offset_col"] == 1        # saved with a bundle's params
