"""Meta-strategies that search a tuner's hyperparameter table, and the HPO loop around them.

Every strategy works on the same box encoding of the table (one coordinate per hyperparameter):
- float: [low, high], or [log low, log high] when `log`; rounded to 3 significant digits so
  that nearby points share one cached evaluation (defaults such as 0.05 or 3.0 survive);
- int: [low, high + 1) (log: [log low, log(high + 1))), floored;
- categorical: [0, n_choices), floored. Choices that are all numbers in ascending order are
  *ordinal*: TPE then treats them as an ordered integer, not as unordered categories.

Evaluations are counted exactly: a point seen before is answered from a cache and not counted;
the strategy stops after `evals` distinct points (or when a finite table is exhausted).
"""
from __future__ import annotations

import inspect
from pathlib import Path
import math
import time
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..hparams import HP
from .objective import SCORE_FLOOR

STRATEGIES = ("random", "dual_annealing", "tpe", "smac")

# ----- encoding ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dim:
    name: str
    kind: str                  # float | int | cat | ord
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple = ()

    @classmethod
    def of(cls, name: str, hp: HP) -> "Dim":
        if hp.choices is not None:
            ch = tuple(hp.choices)
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in ch)
            ordinal = numeric and list(ch) == sorted(ch)
            return cls(name, "ord" if ordinal else "cat", choices=ch)
        if hp.low is None or hp.high is None or hp.low > hp.high:
            raise UserError(f"hyperparameter {name!r} has no valid [low, high] range to search")
        if hp.log and hp.low <= 0:
            raise UserError(f"hyperparameter {name!r} is log-scaled but its low bound is <= 0")
        return cls(name, hp.kind, float(hp.low), float(hp.high), bool(hp.log))

    @property
    def box(self) -> tuple[float, float]:
        if self.kind in ("cat", "ord"):
            return 0.0, float(len(self.choices))
        hi = self.high + 1 if self.kind == "int" else self.high
        return (math.log(self.low), math.log(hi)) if self.log else (self.low, hi)

    @property
    def size(self) -> float:
        """Number of distinct values (inf for a float)."""
        if self.kind in ("cat", "ord"):
            return len(self.choices)
        return self.high - self.low + 1 if self.kind == "int" else math.inf

    def decode(self, x: float):
        lo, hi = self.box
        x = min(max(float(x), lo), hi)
        if self.kind in ("cat", "ord"):
            return self.choices[min(int(x), len(self.choices) - 1)]
        if self.kind == "int":
            v = math.exp(x) if self.log else x
            return int(min(max(math.floor(v), self.low), self.high))
        v = math.exp(x) if self.log else x
        return float(min(max(float(f"{v:.3g}"), self.low), self.high))

    def encode(self, v) -> float:
        """The centre of the box cell that decodes to v (used for start points)."""
        if self.kind in ("cat", "ord"):
            return self.choices.index(v) + 0.5
        if self.kind == "int":
            return math.log(v + 0.5) if self.log else v + 0.5
        return math.log(v) if self.log else float(v)


def dims_of(table: dict) -> list[Dim]:
    if not table:
        raise UserError("the hyperparameter table is empty: nothing to search")
    return [Dim.of(k, hp) for k, hp in table.items()]


# ----- counting evaluations -------------------------------------------------------------------
class _Done(Exception):
    """Raised through a strategy when its evaluation budget is spent."""


class _Budget:
    """The objective as the strategies see it: cached, counted, and capped."""

    def __init__(self, dims, objective, evals, canonical=None, target=None):
        self.dims, self.objective, self.canonical = dims, objective, canonical
        self.target = target
        size = math.prod(d.size for d in dims)
        self.cap = int(min(evals, size))
        self.max_calls = 1000 + 200 * int(evals)     # a strategy stuck on seen points stops
        self.calls = 0
        self.cache: dict = {}
        self.history: list[tuple[dict, float]] = []

    def __call__(self, hp: dict) -> float:
        self.calls += 1
        if self.calls > self.max_calls:
            raise _Done
        if self.canonical is not None:
            hp = self.canonical(hp)
        key = tuple(hp[d.name] for d in self.dims)
        if key in self.cache:
            return self.cache[key]
        if len(self.history) >= self.cap:
            raise _Done
        v = float(self.objective(dict(hp)))
        self.cache[key] = v
        self.history.append((dict(hp), v))
        if len(self.history) >= self.cap or (self.target is not None and v >= self.target):
            raise _Done
        return v


def _decode(dims, x) -> dict:
    return {d.name: d.decode(xi) for d, xi in zip(dims, x)}


# ----- strategies ------------------------------------------------------------------------------
def _random(dims, f, seed, x0):
    rng = np.random.default_rng(seed)
    lo, hi = np.array([d.box for d in dims]).T
    while True:
        f(_decode(dims, rng.uniform(lo, hi)))


def _dual_annealing(dims, f, seed, x0):
    from scipy.optimize import dual_annealing
    bounds = [d.box for d in dims]

    def fun(x):
        return -f(_decode(dims, x))

    start = None if x0 is None else np.array([d.encode(x0[d.name]) for d in dims])
    # scipy >= 1.15 takes `rng`; older versions only `seed`
    rng_kw = "rng" if "rng" in inspect.signature(dual_annealing).parameters else "seed"
    for restart in range(10_000):     # restart (new seed) if one run ends before the budget
        # no local search: a gradient method sees a piecewise-constant (rounded) objective
        dual_annealing(fun, bounds, no_local_search=True, x0=start if restart == 0 else None,
                       **{rng_kw: np.random.default_rng([seed, restart])})


def _tpe(dims, f, seed, x0):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    if x0 is not None:
        study.enqueue_trial({d.name: d.choices.index(x0[d.name]) if d.kind == "ord"
                             else x0[d.name] for d in dims})
    while True:
        trial = study.ask()
        hp = {}
        for d in dims:
            if d.kind == "ord":
                hp[d.name] = d.choices[trial.suggest_int(d.name, 0, len(d.choices) - 1)]
            elif d.kind == "cat":
                hp[d.name] = trial.suggest_categorical(d.name, list(d.choices))
            elif d.kind == "int":
                hp[d.name] = trial.suggest_int(d.name, int(d.low), int(d.high), log=d.log)
            else:
                v = trial.suggest_float(d.name, d.low, d.high, log=d.log)
                hp[d.name] = d.decode(d.encode(v))
        study.tell(trial, f(hp))


def _smac(dims, f, seed, x0, table):
    """SMAC3's AlgorithmConfigurationFacade on a deterministic objective (one instance)."""
    import tempfile

    from smac import Scenario
    from smac.runhistory import TrialValue

    from .configspace import to_configspace, to_hparams
    from .smac_facade import reproducible_facade
    with tempfile.TemporaryDirectory(prefix="ml2tuner-smac-") as tmp:
        sc = Scenario(to_configspace(table, seed), deterministic=True, n_trials=10 ** 9,
                      instances=["0"], instance_features={"0": [0.0]}, seed=int(seed),
                      output_directory=tmp)
        # without a start point, the first point is random (ConfigSpace's default would be
        # an arbitrary corner of the table, a head start no other strategy gets)
        design = None
        if x0 is None:
            from smac.initial_design import RandomInitialDesign
            design = RandomInitialDesign(sc, n_configs=1)
        smac = reproducible_facade(sc, initial_design=design)
        from smac.main.exceptions import ConfigurationSpaceExhaustedException
        while True:
            try:
                info = smac.ask()
            except ConfigurationSpaceExhaustedException:
                raise _Done from None
            smac.tell(info, TrialValue(cost=-f(to_hparams(info.config, table))))


_STRATEGY_FNS = {"random": _random, "dual_annealing": _dual_annealing, "tpe": _tpe,
                 "smac": _smac}


def run_meta(strategy: str, table: dict, objective, evals: int, seed: int = 0,
             x0: dict | None = None, canonical=None,
             target: float | None = None) -> list[tuple[dict, float]]:
    """Search `table` ({name: HP}) for high `objective(hparams)`; at most `evals` distinct
    evaluations, in order, as (hparams, score). x0: a first point to evaluate (e.g. the
    defaults). canonical: maps a point to the one actually evaluated (and cached). target:
    stop as soon as a score >= target is found."""
    if strategy not in _STRATEGY_FNS:
        raise UserError(f"unknown meta-strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    if not isinstance(evals, (int, np.integer)) or evals < 1:
        raise UserError(f"evals must be a positive integer, got {evals!r}")
    dims = dims_of(table)
    budget = _Budget(dims, objective, evals, canonical, target)
    try:
        if x0 is not None:         # always the first evaluation, whatever the strategy
            budget(dict(x0))
        fn = _STRATEGY_FNS[strategy]
        if strategy == "smac":
            fn(dims, budget, int(seed), x0, table)
        else:
            fn(dims, budget, int(seed), x0)
    except _Done:
        pass
    return budget.history


# ----- the HPO loop ----------------------------------------------------------------------------
#: seed indices of the final re-evaluation and of the held-out test: disjoint from each other
#: and from the search's (SMAC draws seeds below 2**31, the other strategies use 0, 1, ...)
VALIDATE_SEEDS = 2 ** 40
TEST_SEEDS = 2 ** 41


def hpo_table(tuner_name: str, names=None, space_kinds=None) -> dict:
    """The part of the tuner's table that HPO searches: `names`, else the entries marked
    tunable that act on one of `space_kinds` (None: any; conditional ones only where their
    parent can activate them)."""
    from ..tuners import TUNERS
    from .configspace import searched
    if tuner_name not in TUNERS:
        raise UserError(f"unknown tuner {tuner_name!r}; choose from {', '.join(TUNERS)}")
    table = TUNERS[tuner_name].HYPERPARAMETERS
    if not table:
        raise UserError(f"tuner {tuner_name!r} has no hyperparameters to tune")
    return searched(table, names, space_kinds)


def _nanmean(m) -> float | None:
    """Mean over the runs that did not crash (None if all did)."""
    m = np.asarray(m, dtype=float)
    return None if np.isnan(m).all() else float(np.nanmean(m))


def _verdict(kept: bool, same: bool, crashed: bool, def_crashed: bool) -> str:
    """What the re-evaluation decided, in words (`crashed`: the incumbent crashed on some run;
    `def_crashed`: the defaults did)."""
    if kept:
        return ("the defaults crashed on the re-evaluation: the tuned setting is kept"
                if def_crashed else
                "the tuned setting beat the defaults on the re-evaluation and is kept")
    if same:
        return "the search found nothing better than the defaults" + (
            ", and they crashed on the re-evaluation" if def_crashed else "")
    if crashed:
        return "the incumbent crashed on the re-evaluation: the defaults stand"
    return "the incumbent did not beat the defaults on the re-evaluation: the defaults stand"


def _run_lists(m) -> list[list[float | None]]:
    """A (spaces x seeds) score matrix as JSON lists, a crashed run (nan) as None."""
    return [[None if np.isnan(x) else float(x) for x in row] for row in np.asarray(m, float)]


def _axes(obj, hp, seeds, floor=None) -> dict:
    """Scores (spaces x seeds) of `hp` on every axis, each run's raised to `floor` (None: raw),
    from the objective's cache."""
    from .objective import run_value
    n = len(obj.paths)
    res = obj.results([(hp, si, r) for si in range(n) for r in seeds])
    return {ax: np.array([np.nan if "crash" in x else run_value(x, ax, floor) for x in res])
            .reshape(n, len(seeds)) for ax in ("samples", "time", "both")}


def hpo(tuner_name: str, train_spaces, test_spaces, meta: str = "smac", evals: int = 30,
        repeats: int = 3, budget: int = 200, seed: int = 0, n_jobs: int = 1,
        dask_scheduler: str | None = None, out_dir=None, names=None,
        test_repeats: int | None = None, validate_repeats: int = 20, axis: str = "time",
        progress: bool | None = None, objective: str | None = None,
        floor: float | None = SCORE_FLOOR) -> dict:
    """Configure `tuner_name` on `train_spaces` with `meta` and check it on `test_spaces`.

    The search spends evals * len(train_spaces) * repeats replayed runs (as many as `evals`
    settings fully evaluated), scored on `axis` (time, samples or both). Its incumbent is then
    re-run against the defaults on `validate_repeats` fresh seeds per training space and kept
    only if its mean is higher; otherwise the defaults stand. Both are scored on the held-out
    spaces with a paired bootstrap 95 % CI. Every comparison (search, re-evaluation, held-out)
    averages runs whose scores are raised to `floor` (`objective.SCORE_FLOOR`; None: the raw
    mean); held-out figures on the raw mean are reported too. Writes settings.json (the chosen setting, for
    `--hp-file`), hpo.csv, hpo.json and hpo.png to out_dir."""
    import sys

    from ..hparams import save_settings
    from ..tuners import TUNERS
    from .ac import STRATEGIES as AC_STRATEGIES
    from .ac import search
    from .configspace import canonical
    from .objective import AXES, RunObjective
    from .stats import bootstrap_improvement
    table = hpo_table(tuner_name, names)
    if meta not in AC_STRATEGIES:
        raise UserError(f"unknown meta-strategy {meta!r}; choose from {', '.join(AC_STRATEGIES)}")
    if axis not in AXES:
        raise UserError(f"unknown score axis {axis!r}; choose from {', '.join(AXES)}")
    for name, v in (("evals", evals), ("repeats", repeats), ("validate_repeats",
                                                             validate_repeats)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise UserError(f"{name} must be a positive integer, got {v!r}")
    if test_repeats is not None and (not isinstance(test_repeats, int) or test_repeats < 1):
        raise UserError(f"test_repeats must be a positive integer, got {test_repeats!r}")
    if not test_spaces:
        raise UserError("no test space: generalisation is measured on held-out spaces")
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if progress is not False else \
        (lambda m: None)
    if floor is not None and (isinstance(floor, bool) or not isinstance(floor, (int, float))
                              or not np.isfinite(floor) or floor >= 1):
        raise UserError(f"score floor must be a finite number below 1, got {floor!r}")
    common = dict(budget=budget, seed=seed, axis=axis, n_jobs=n_jobs, objective=objective,
                  dask_scheduler=dask_scheduler, floor=floor)
    train = RunObjective(tuner_name, train_spaces, **common)
    test = RunObjective(tuner_name, test_spaces, **common)
    left_out: list[str] = []
    if not names:       # the default search: only what acts on some training space
        from .evaluate import space_kind
        kinds = {space_kind(p, objective) for p in train.paths}
        acting = hpo_table(tuner_name, None, space_kinds=kinds)
        left_out = [n for n in table if n not in acting]
        table = acting
        if left_out:
            say(f"not searched (no effect on these training spaces): {', '.join(left_out)}")
    t_start = time.perf_counter()
    defaults = canonical(table, {})
    run_budget = int(evals) * len(train.paths) * int(repeats)
    say(f"hpo {meta}: {run_budget} runs on {len(train.paths)} training spaces")
    inc, history = search(meta, train, table, int(repeats), run_budget, int(seed), defaults)
    inc = canonical(table, inc)
    search_runs = train.n_runs
    say(f"re-evaluating the incumbent and the defaults on {validate_repeats} fresh seeds")
    vseeds = range(VALIDATE_SEEDS, VALIDATE_SEEDS + int(validate_repeats))
    v_def, v_inc = _axes(train, defaults, vseeds, floor), _axes(train, inc, vseeds, floor)
    same = inc == defaults
    crashed = bool(np.isnan(v_inc[axis]).any())
    def_crashed = bool(np.isnan(v_def[axis]).any())
    kept = (not same and not crashed
            and (def_crashed or float(v_inc[axis].mean()) > float(v_def[axis].mean())))
    final = inc if kept else defaults
    say("scoring on the held-out spaces")
    tseeds = range(TEST_SEEDS, TEST_SEEDS + int(test_repeats or validate_repeats))
    t_def = _axes(test, defaults, tseeds, floor)
    t_inc = t_def if same else _axes(test, inc, tseeds, floor)
    t_fin = t_inc if kept else t_def
    r_def = _axes(test, defaults, tseeds)          # the same runs, raw (from the cache)
    r_fin = _axes(test, final, tseeds)

    def cis(new, old, s):
        return {ax: bootstrap_improvement(new[ax], old[ax], seed=s)
                if not (np.isnan(new[ax]).any() or np.isnan(old[ax]).any()) else None
                for ax in ("samples", "time", "both")}
    full_hp = {**{k: h.default for k, h in TUNERS[tuner_name].HYPERPARAMETERS.items()}, **final}
    summary = {
        "tuner": tuner_name, "meta": meta, "axis": axis, "evals": int(evals),
        "run_budget": run_budget, "search_runs": int(search_runs),
        "n_settings": len({tuple(sorted(map(repr, h["hparams"].items()))) for h in history}),
        "repeats": int(repeats), "validate_repeats": int(validate_repeats),
        "test_repeats": len(tseeds), "budget": int(budget), "seed": int(seed),
        "searched": list(table), "not_searched_no_effect": left_out,
        "train": [str(s) for s in train_spaces],
        "floor": floor, "aggregate": aggregate_note(floor),
        "test": [str(s) for s in test_spaces],
        "default_hparams": defaults, "incumbent_hparams": inc,
        "incumbent_is_default": same, "kept": kept, "final_hparams": final,
        "verdict": _verdict(kept, same, crashed, def_crashed),
        "validate": {"incumbent": {ax: _nanmean(m) for ax, m in v_inc.items()},
                     "defaults": {ax: _nanmean(m) for ax, m in v_def.items()}},
        "test_scores": {"final": {ax: _nanmean(m) for ax, m in t_fin.items()},
                        "incumbent": {ax: _nanmean(m) for ax, m in t_inc.items()},
                        "defaults": {ax: _nanmean(m) for ax, m in t_def.items()}},
        "test_final_vs_defaults": cis(t_fin, t_def, seed),
        "test_final_vs_defaults_raw": cis(r_fin, r_def, seed),
        "test_incumbent_vs_defaults": cis(t_inc, t_def, seed),
        # every held-out run's score (spaces x seeds), so that results of several searches
        # can be pooled into one bootstrap (e.g. one setting per kind of layer)
        "test_runs": {name: {ax: _run_lists(m) for ax, m in mats.items()} for name, mats in (
            ("final", t_fin), ("defaults", t_def), ("final_raw", r_fin),
            ("defaults_raw", r_def))},
        # folder/name: held-out layers share file names across accelerators
        "test_per_space": {f"{Path(p).parent.name}/{Path(p).name}": {
            "incumbent": _nanmean(t_inc[axis][i]), "defaults": _nanmean(t_def[axis][i])}
            for i, p in enumerate(test.paths)},
        "crashes": train.crashes + test.crashes,
        "history": history,
        "wall_seconds": round(time.perf_counter() - t_start, 1)}
    if out_dir is not None:
        summary["out"] = save_results(out_dir, history, summary)
        save_settings(Path(out_dir) / "settings.json", tuner_name, full_hp,
                      tuned=kept, meta=meta, axis=axis, verdict=summary["verdict"],
                      train=summary["train"])
        summary["out"]["settings"] = str(Path(out_dir) / "settings.json")
    return summary


def aggregate_note(floor) -> str:
    """How runs are combined into a setting's score, in words (for the reports)."""
    how = ("the mean over spaces and seeds of each run's P" if floor is None else
           f"the mean over spaces and seeds of each run's P raised to {floor:g} where below")
    return (how + "; change % = 100 (tuned - defaults) / |defaults|, i.e. relative to the "
            "defaults' distance from random search (P = 0); gap closed % = 100 (tuned - "
            "defaults) / (1 - defaults), the share of the defaults' distance to the optimum "
            "(P = 1) that the tuned setting closes")


def save_results(out_dir, history: list[dict], summary: dict) -> dict:
    """hpo.csv (one row per evaluation the search made), hpo.json (summary), hpo.png."""
    import json

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame([{k: v for k, v in h.items() if k != "hparams"} | h["hparams"]
                       for h in history])
    df["runs"] = df["pairs"].cumsum()
    paths = {"csv": str(out / "hpo.csv"), "json": str(out / "hpo.json"),
             "png": str(out / "hpo.png")}
    df.to_csv(paths["csv"], index=False)
    Path(paths["json"]).write_text(json.dumps({k: v for k, v in summary.items()
                                               if k != "history"}, indent=2, default=float)
                                   + "\n")
    fig, ax = plt.subplots(figsize=(6, 4))
    for how, g in df[df["score"].notna()].groupby("how"):
        ax.plot(g["runs"], g["score"], "o", ms=3, alpha=0.5, label=how)
    axis = summary["axis"]
    for who, style in (("defaults", dict(ls=":", c="grey")), ("incumbent", dict(ls="--", c="k"))):
        y = summary["validate"][who][axis]
        if y is not None:           # None: every run of it crashed
            ax.axhline(y, label=f"{who} (re-evaluation)", **style)
    ax.set_xlabel("replayed runs")
    ax.set_ylabel(f"score P, {axis} axis (train)")
    ax.set_title(f"{summary['tuner']} HPO with {summary['meta']}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(paths["png"], dpi=120)
    plt.close(fig)
    return paths


__all__ = ["Dim", "STRATEGIES", "TEST_SEEDS", "VALIDATE_SEEDS", "aggregate_note", "dims_of", "hpo",
           "hpo_table", "run_meta", "save_results"]
