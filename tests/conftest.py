from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data():
    if not SHARED_DATA.exists():
        pytest.skip(f"real tuning data not available ({SHARED_DATA} is absent in this checkout)")
    return SHARED_DATA


def v_fit_points(data, budget: int, seed: int, batch_size: int, **hp):
    """(tuner, samples measured at each Model V fit) of an ML2Tuner run of `budget` samples
    replayed on `data`."""
    from ml2tuner.replay import ReplayMeasurer
    from ml2tuner.tuners import make_tuner
    t = make_tuner("ml2tuner", data.space, seed=seed, batch_size=batch_size, **hp)
    at, real = [], t.v.fit

    def recorded(*a, **k):
        at.append(len(t.results))
        return real(*a, **k)
    t.v.fit = recorded
    t.tune(budget, ReplayMeasurer(data))
    return t, at


def count_v_fits(data, budget: int, seed: int, batch_size: int, **hp) -> tuple[int, int]:
    """(Model V fits, update rounds) of an ML2Tuner run of `budget` samples replayed on `data`."""
    t, at = v_fit_points(data, budget, seed, batch_size, **hp)
    return len(at), t.n_updates
