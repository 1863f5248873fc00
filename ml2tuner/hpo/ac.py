"""Algorithm configuration of a tuner: the searches behind `ml2tuner hpo`.

Training spaces are instances and run seeds are noise. Every strategy spends the same budget
of replayed runs (`run_budget`) through one `RunObjective` (common random numbers) and returns
its incumbent:
- smac: SMAC3's AlgorithmConfigurationFacade (random forest over configurations and instance
  features, intensification that races each challenger against the incumbent on the
  incumbent's own (instance, seed) pairs and drops it when it is worse at the end of a race;
  races come in blocks of one seed on every training space). A setting gets at most
  repeats x spaces runs; the share of challengers drawn at random instead of from the
  forest is `SMAC_RANDOM_SHARE` (the facade's 0.5 spent half the runs on random settings,
  each dropped after a run or two);
- tpe: Optuna TPE, one trial per setting, evaluated space by space (a fixed shuffled order)
  with successive-halving pruning on the running mean;
- random, dual_annealing: every setting evaluated on all training pairs (references).
"""
from __future__ import annotations

import math
import tempfile
import warnings

import numpy as np

from ..errors import UserError
from .configspace import canonical, to_configspace, to_hparams
from .objective import RunObjective
from .smac_facade import reproducible_facade

STRATEGIES = ("smac", "tpe", "random", "dual_annealing")

#: share of SMAC's challengers drawn at random (the rest maximise expected improvement under
#: its random forest, which also explores through local search around good settings)
SMAC_RANDOM_SHARE = 0.2

#: what a strategy that needs a number for every point (dual annealing) is told about a
#: setting that crashed the tuner; the crash itself is reported with the setting
CRASH_SCORE = -1.0


def _record(history, hp, score, pairs, how):
    history.append({"eval": len(history) + 1, "hparams": dict(hp), "score": score,
                    "pairs": int(pairs), "how": how})


# ----- full-evaluation strategies --------------------------------------------------------------
def _full(meta, obj: RunObjective, table, n_spaces, repeats, run_budget, seed, defaults):
    from .meta import run_meta
    history = []

    def objective(hp):
        m = obj.mean(hp, range(repeats))
        _record(history, hp, m, n_spaces * repeats, "full")
        return CRASH_SCORE if m is None else m

    evals = max(1, run_budget // (n_spaces * repeats))
    run_meta(meta, table, objective, evals, seed, x0=defaults,
             canonical=lambda hp: canonical(table, hp))
    done = [h for h in history if h["score"] is not None]
    best = max(done, key=lambda h: h["score"]) if done else history[0]
    return best["hparams"], history


# ----- Optuna TPE with successive halving over spaces -------------------------------------------
def _ordered(table):
    """Names with every condition's parent before its children."""
    out, left = [], list(table)
    while left:
        for n in left:
            c = table[n].condition
            if c is None or c[0] not in table or c[0] in out:
                out.append(n)
                left.remove(n)
                break
        else:
            raise ValueError("cyclic conditions in the hyperparameter table")
    return out


def _suggest(trial, table):
    from .configspace import is_ordinal
    hp = {}
    for n in _ordered(table):
        h = table[n]
        if h.condition and h.condition[0] in table and not h.active(hp):
            continue
        if h.choices is not None:
            if is_ordinal(h):
                hp[n] = h.choices[trial.suggest_int(n, 0, len(h.choices) - 1)]
            else:
                hp[n] = trial.suggest_categorical(n, list(h.choices))
        elif h.kind == "int":
            hp[n] = trial.suggest_int(n, int(h.low), int(h.high), log=h.log)
        else:
            hp[n] = float(f"{trial.suggest_float(n, h.low, h.high, log=h.log):.3g}")
    return canonical(table, hp)


def _tpe(obj: RunObjective, table, n_spaces, repeats, run_budget, seed, defaults):
    import optuna
    from .configspace import is_ordinal
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3))
    study.enqueue_trial({n: (h.choices.index(defaults[n]) if is_ordinal(h) else defaults[n])
                         for n, h in table.items()
                         if not (h.condition and h.condition[0] in table)
                         or h.active(defaults)})
    order = np.random.default_rng(seed).permutation(n_spaces)
    history, start = [], obj.n_runs
    # a setting seen before costs no run: the trial cap ends a search stuck on a small space
    for _ in range(10 * run_budget):
        if obj.n_runs - start >= run_budget:
            break
        trial = study.ask()
        hp = _suggest(trial, table)
        state, total, done = None, 0.0, 0
        for step, si in enumerate(order, 1):
            m = obj.mean(hp, range(repeats), spaces=[int(si)])
            if m is None:
                state = optuna.trial.TrialState.FAIL
                break
            total, done = total + m, step
            trial.report(total / done, step)
            if step < n_spaces and trial.should_prune():
                state = optuna.trial.TrialState.PRUNED
                break
        if state is None:
            study.tell(trial, total / done)
            _record(history, hp, total / done, done * repeats, "full")
        else:
            study.tell(trial, state=state)
            _record(history, hp, None if state == optuna.trial.TrialState.FAIL
                    else total / done, done * repeats,
                    "crashed" if state == optuna.trial.TrialState.FAIL else "pruned")
    full = [h for h in history if h["how"] == "full"]
    best = max(full, key=lambda h: h["score"]) if full else {"hparams": defaults}
    return best["hparams"], history


# ----- SMAC3 algorithm configuration -----------------------------------------------------------
def _instance_features(obj: RunObjective) -> dict:
    """Cheap descriptors of each training space (the random forest splits instances on them)."""
    from .evaluate import load_space
    from .score import cutoff_budget
    feats = {}
    for si, p in enumerate(obj.paths):
        d = load_space(p, obj.objective)
        feats[str(si)] = [math.log10(len(d)), float(np.mean(d.valid)),
                          math.log10(cutoff_budget(d))]
    return feats


def _block_intensifier(scenario, block: int, max_config_calls: int):
    """SMAC's Intensifier racing in blocks of `block` (instance, seed) pairs: a challenger's
    first race runs one seed on every training space, its later races double that, and it is
    compared with the incumbent only at the end of a race. The stock one starts a challenger
    on one pair and rejects it as soon as it is worse there; with per-run scores spread
    +-0.5 that is a coin flip, and most of the budget went on settings run once."""
    from smac.intensifier.intensifier import Intensifier

    class BlockIntensifier(Intensifier):
        def _get_next_trials(self, config, *, N=None, from_keys=None, shuffle=True):
            return super()._get_next_trials(config, N=None if N is None else N * block,
                                            from_keys=from_keys, shuffle=shuffle)

        def update_incumbents(self, config) -> None:
            n = len(self.get_instance_seed_budget_keys(config))
            incs = self.get_incumbents()
            if incs and config not in incs and n % block and \
                    n < len(self.get_incumbent_instance_seed_budget_keys()):
                return              # mid-race: judged when the race's block is complete
            super().update_incumbents(config)

    return BlockIntensifier(scenario, max_config_calls=max_config_calls)


def _smac(obj: RunObjective, table, n_spaces, repeats, run_budget, seed, defaults,
          deterministic=False, random_share=SMAC_RANDOM_SHARE):
    from smac import AlgorithmConfigurationFacade as AC
    from smac import Scenario
    from smac.runhistory import TrialValue
    from smac.runhistory.enumerations import StatusType
    cs = to_configspace(table, seed)
    history = []
    with tempfile.TemporaryDirectory(prefix="ml2tuner-smac-") as tmp, warnings.catch_warnings():
        # SMAC's random forest fits through scikit-learn's joblib helpers, which warn on every
        # fit that the configuration of this thread is not propagated (there is none to pass)
        warnings.filterwarnings("ignore", message=".*sklearn.utils.parallel.delayed.*")
        sc = Scenario(cs, deterministic=deterministic, n_trials=int(run_budget),
                      instances=[str(i) for i in range(n_spaces)],
                      instance_features=_instance_features(obj), seed=int(seed),
                      crash_cost=2.0, output_directory=tmp)
        smac = reproducible_facade(
            sc, random_design=AC.get_random_design(sc, probability=float(random_share)),
            intensifier=_block_intensifier(sc, n_spaces, repeats * n_spaces))
        batch = max(1, obj.n_jobs if obj.n_jobs > 0 else 2)
        start = obj.n_runs
        from smac.main.exceptions import ConfigurationSpaceExhaustedException
        while obj.n_runs - start < run_budget:
            try:
                infos = [smac.ask() for _ in range(batch)]
            except ConfigurationSpaceExhaustedException:    # a small space, all seen
                break
            hps = [to_hparams(i.config, table) for i in infos]
            vals = obj.values([(hp, int(i.instance), int(i.seed)) for hp, i in zip(hps, infos)])
            for info, hp, v in zip(infos, hps, vals):
                if v is None:
                    smac.tell(info, TrialValue(cost=2.0, status=StatusType.CRASHED))
                else:
                    smac.tell(info, TrialValue(cost=1.0 - v))
                _record(history, hp, v, 1, "run" if v is not None else "crashed")
            if len(history) > 50 * run_budget:        # everything asked is cached: stuck
                break
        inc = smac.intensifier.get_incumbent()
        best = to_hparams(inc, table) if inc is not None else dict(defaults)
    return best, history


def search(meta: str, obj: RunObjective, table: dict, repeats: int, run_budget: int,
           seed: int, defaults: dict):
    """(incumbent setting, history) of `meta` within `run_budget` replayed runs."""
    n_spaces = len(obj.paths)
    if meta == "smac":
        return _smac(obj, table, n_spaces, repeats, run_budget, seed, defaults)
    if meta == "tpe":
        return _tpe(obj, table, n_spaces, repeats, run_budget, seed, defaults)
    if meta in ("random", "dual_annealing"):
        return _full(meta, obj, table, n_spaces, repeats, run_budget, seed, defaults)
    raise UserError(f"unknown meta-strategy {meta!r}; choose from {', '.join(STRATEGIES)}")


__all__ = ["CRASH_SCORE", "SMAC_RANDOM_SHARE", "STRATEGIES", "search"]
