"""Tuners sharing one API (see `base.Tuner.tune`)."""
from .base import Tuner, TuneResult
from .ml2tuner import ML2Tuner
from .simple import GATuner, GridTuner, RandomTuner
from .xgb import XGBKnobTuner, XGBTuner

TUNERS = {t.name: t for t in (ML2Tuner, XGBTuner, XGBKnobTuner, RandomTuner, GridTuner,
                                GATuner)}


def register_tuner(cls: type[Tuner]) -> type[Tuner]:
    """Add a `Tuner` subclass to the registry under `cls.name`, so `make_tuner`, the CLI's
    `--tuner` and HPO can use it. Usable as a class decorator. Run
    `ml2tuner.testing.TunerConformance` on it first."""
    if not (isinstance(cls, type) and issubclass(cls, Tuner)):
        raise TypeError(f"{cls!r} is not a Tuner subclass")
    if cls.name in TUNERS and TUNERS[cls.name] is not cls:
        raise ValueError(f"a different tuner is already registered as {cls.name!r}")
    from ..hparams import check_table
    check_table(cls.HYPERPARAMETERS)
    TUNERS[cls.name] = cls
    return cls


def make_tuner(name: str, space, seed: int = 0, **hparams) -> Tuner:
    from ..errors import UserError
    if name not in TUNERS:
        raise UserError(f"unknown tuner {name!r}; choose from {', '.join(TUNERS)}")
    return TUNERS[name](space, seed=seed, **hparams)


__all__ = ["TUNERS", "Tuner", "TuneResult", "make_tuner", "register_tuner", "ML2Tuner", "XGBTuner", "XGBKnobTuner", "RandomTuner",
           "GridTuner", "GATuner"]
