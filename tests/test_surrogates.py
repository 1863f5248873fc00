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


def test_model_settings_live_in_one_place():
    """The estimators' own defaults, ML2Tuner's table, offline training and the TVM cost model
    all read `surrogates.defaults`; changing a context there changes its users."""
    import inspect

    from ml2tuner import offline
    from ml2tuner.surrogates import AdvancedModel, PerformanceModel, ValidityModel
    from ml2tuner.surrogates.defaults import MODEL_SETTINGS
    from ml2tuner.tuners import ML2Tuner
    from ml2tuner.tvm.cost_model import make_models
    for key, cls in (("v", ValidityModel), ("p", PerformanceModel), ("a", AdvancedModel)):
        sig = inspect.signature(cls).parameters
        online = MODEL_SETTINGS["online"][key]
        assert {k: sig[k].default for k in online} == online
        hp = ML2Tuner.HYPERPARAMETERS
        assert (hp[f"{key}_n_estimators"].default, hp[f"{key}_max_depth"].default,
                hp[f"{key}_eta"].default) == (online["n_estimators"], online["max_depth"],
                                              online["learning_rate"])
        built = make_models()[key.upper()].get_params()
        assert {k: built[k] for k in MODEL_SETTINGS["tvm"][key]} == MODEL_SETTINGS["tvm"][key]
    v, p, a = offline._models(None, None, None, 0, 1)
    assert {k: p.get_params()[k] for k in MODEL_SETTINGS["offline"]["p"]} == \
        MODEL_SETTINGS["offline"]["p"]
