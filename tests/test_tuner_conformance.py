"""Every registered tuner passes the shipped conformance suite (`ml2tuner.testing`)."""
from ml2tuner.testing import TunerConformance, kt_style_data
from ml2tuner.tuners import TUNERS

for _name, _cls in TUNERS.items():
    _test = type(f"TestConformance_{_name.replace('-', '_')}", (TunerConformance,),
                 {"tuner_class": _cls})
    globals()[_test.__name__] = _test


# ----- the suite itself can fail ----------------------------------------------------------------
import pytest  # noqa: E402

from ml2tuner.tuners.simple import RandomTuner  # noqa: E402


class _StopsEarly(RandomTuner):
    def has_next(self):
        return len(self.visited) < 5


class _Repeats(RandomTuner):
    def next_batch(self, n):
        return [0] if not self.visited else self.random_unvisited(n)

    def has_next(self):
        return True


class _IgnoresSeed(RandomTuner):
    def __init__(self, space, seed=0, **hp):
        super().__init__(space, 0, **hp)


@pytest.mark.parametrize("broken, check", [
    (_StopsEarly, "test_budget_honoured_and_reached"),
    (_IgnoresSeed, "test_same_seed_same_run_other_seed_other_run"),
])
def test_suite_catches_broken_tuners(broken, check):
    suite = type("S", (TunerConformance,), {"tuner_class": broken})()
    method = getattr(suite, check)
    with pytest.raises(AssertionError):
        method(True) if "budget" in check else method()


def test_loop_drops_repeated_indices_so_the_suite_sees_no_duplicates():
    """`Tuner.tune` filters a tuner's repeats itself: a tuner that proposes a visited index
    still passes the no-duplicates check, because the loop never measures it twice."""
    suite = type("S", (TunerConformance,), {"tuner_class": _Repeats})()
    suite.test_budget_honoured_and_reached(True)


def test_register_tuner_adds_to_the_registry_and_checks_its_table():
    from ml2tuner.hparams import HP
    from ml2tuner.tuners import TUNERS, make_tuner, register_tuner

    class Mine(RandomTuner):
        name = "mine-test"
    try:
        assert register_tuner(Mine) is Mine
        assert isinstance(make_tuner("mine-test", kt_style_data().space), Mine)

        class Clash(RandomTuner):
            name = "mine-test"
        with pytest.raises(ValueError, match="already registered"):
            register_tuner(Clash)

        class BadTable(RandomTuner):
            name = "bad-table-test"
            HYPERPARAMETERS = {"x": HP(1, 0, 2, condition=("nope", (1,)))}
        with pytest.raises(Exception, match="nope"):
            register_tuner(BadTable)
        assert "bad-table-test" not in TUNERS
    finally:
        TUNERS.pop("mine-test", None)

