"""The XGBoost settings of Models V, P and A, per context, in one place.

Three contexts train the same estimators on different amounts of data:
- `online`: ML2Tuner refits during a run on tens to hundreds of samples (these are also the
  estimators' own defaults and the defaults of ML2Tuner's hyperparameter table);
- `offline`: `ml2tuner train` fits bundles on thousands of rows from many traces;
- `tvm`: the MetaSchedule cost model refits after every batch on at most a few hundred rows of
  wide schedule features, where shallower trees for P and A held up better.
"""
from __future__ import annotations

MODEL_SETTINGS: dict[str, dict[str, dict]] = {
    "online": {"v": dict(n_estimators=60, max_depth=4, learning_rate=0.3),
               "p": dict(n_estimators=150, max_depth=6, learning_rate=0.2),
               "a": dict(n_estimators=150, max_depth=6, learning_rate=0.2)},
    "offline": {"v": dict(n_estimators=100, max_depth=5, learning_rate=0.3),
                "p": dict(n_estimators=200, max_depth=5, learning_rate=0.15),
                "a": dict(n_estimators=200, max_depth=5, learning_rate=0.15)},
    "tvm": {"v": dict(n_estimators=60, max_depth=4, learning_rate=0.3),
            "p": dict(n_estimators=150, max_depth=4, learning_rate=0.2),
            "a": dict(n_estimators=150, max_depth=4, learning_rate=0.2)},
}


def model_settings(context: str, model: str) -> dict:
    """A copy of the settings of `model` ("v", "p" or "a") in `context`."""
    return dict(MODEL_SETTINGS[context][model])


__all__ = ["MODEL_SETTINGS", "model_settings"]
