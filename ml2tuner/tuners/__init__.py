"""Tuners sharing one API (see `base.Tuner.tune`)."""
from .base import Tuner, TuneResult
from .ml2tuner import ML2Tuner
from .simple import GATuner, GridTuner, RandomTuner
from .xgb import XGBKnobTuner, XGBTuner

TUNERS = {t.name: t for t in (ML2Tuner, XGBTuner, XGBKnobTuner, RandomTuner, GridTuner,
                                GATuner)}


def make_tuner(name: str, space, seed: int = 0, **hparams) -> Tuner:
    from ..errors import UserError
    if name not in TUNERS:
        raise UserError(f"unknown tuner {name!r}; choose from {', '.join(TUNERS)}")
    return TUNERS[name](space, seed=seed, **hparams)


__all__ = ["TUNERS", "Tuner", "TuneResult", "make_tuner", "ML2Tuner", "XGBTuner", "XGBKnobTuner", "RandomTuner",
           "GridTuner", "GATuner"]
