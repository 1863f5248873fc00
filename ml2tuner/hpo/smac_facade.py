"""SMAC3's AlgorithmConfigurationFacade, made reproducible: one seed, one sequence of proposals,
in any process."""
from __future__ import annotations


def reproducible_facade(scenario, **kwargs):
    """`AlgorithmConfigurationFacade(scenario, **kwargs)` with its usual random forest predicting
    in one thread and its local search started from points in a hash-free order; the target
    function is a placeholder (callers drive it with ask/tell)."""
    from smac import AlgorithmConfigurationFacade as AC
    smac = AC(scenario, target_function=lambda config, instance, seed=0: 0.0, overwrite=True,
              logging_level=40, model=_forest(scenario), **kwargs)
    _hash_free_local_search(smac)
    return smac


def _forest(scenario):
    """The facade's random forest (same settings as `get_model`), predicting in one thread.

    With its default n_jobs=-1 the forest sums each tree's predictions over the instances in
    whatever order the threads finish; floating-point sums then differ in the last bits from
    run to run, ties in expected improvement break differently, and two searches with one seed
    part ways after some dozens of trials."""
    from smac.model.random_forest import RandomForest
    return RandomForest(configspace=scenario.configspace, n_trees=10, ratio_features=5 / 6,
                        min_samples_split=3, min_samples_leaf=3, max_depth=20,
                        bootstrapping=True, log_y=False,
                        instance_features=scenario.instance_features, pca_components=4,
                        seed=scenario.seed, n_jobs=1)


def _hash_free_local_search(facade) -> None:
    """Make SMAC's local search start from its points in an order that does not depend on
    Python's string hashing.

    SMAC collects the local search's start points in a `set` of configurations, whose hash
    is the hash of their text; with hash randomisation (PYTHONHASHSEED) the set's order, and
    with it every later proposal, differed between processes given the same seed. The points
    are put in the order of their text instead."""
    ls = getattr(getattr(facade, "_acquisition_maximizer", None), "_local_search", None)
    if ls is None or not hasattr(ls, "_get_initial_points"):
        raise RuntimeError("SMAC's local search is not where ml2tuner expects it; the SMAC "
                           "version is not supported (tested with smac 2.4)")
    start_points = ls._get_initial_points

    def ordered(*args, **kwargs):
        return sorted(start_points(*args, **kwargs), key=repr)
    ls._get_initial_points = ordered
