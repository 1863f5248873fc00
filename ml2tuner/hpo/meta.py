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
import math
import time
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..hparams import HP

STRATEGIES = ("random", "dual_annealing", "tpe")

#: ML2Tuner's hyperparameters searched by default: the round structure, the filters and the
#: explorer, plus Model P's size. The XGBoost details of V and A and the SA internals stay at
#: their defaults, which keeps HPO affordable (fewer dimensions for the same budget).
DEFAULT_SUBSET = {"ml2tuner": ("batch_size", "alpha", "n_init", "v_threshold", "epsilon",
                               "a_min_valid", "pool_factor", "explorer", "p_max_depth",
                               "p_n_estimators")}

#: the score given to a setting whose evaluation raised (a crash of the tuner): as far below
#: random search (0) as the optimum (1) is above it
PENALTY = -1.0


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


_STRATEGY_FNS = {"random": _random, "dual_annealing": _dual_annealing, "tpe": _tpe}


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
        _STRATEGY_FNS[strategy](dims, budget, int(seed), x0)
    except _Done:
        pass
    return budget.history


# ----- the HPO loop ----------------------------------------------------------------------------
def hpo_table(tuner_name: str, names=None) -> dict:
    """The part of the tuner's table that HPO searches: `names`, else `DEFAULT_SUBSET`, else
    the whole table."""
    from ..tuners import TUNERS
    if tuner_name not in TUNERS:
        raise UserError(f"unknown tuner {tuner_name!r}; choose from {', '.join(TUNERS)}")
    table = TUNERS[tuner_name].HYPERPARAMETERS
    if not table:
        raise UserError(f"tuner {tuner_name!r} has no hyperparameters to tune")
    names = list(names) if names else list(DEFAULT_SUBSET.get(tuner_name, table))
    unknown = [n for n in names if n not in table]
    if unknown:
        raise UserError(f"unknown hyperparameter {unknown[0]!r} of {tuner_name}; known: "
                        f"{', '.join(table)}")
    return {n: table[n] for n in names}


def _improvement(new: float, old: float) -> float | None:
    return None if old == 0 else 100.0 * (new - old) / abs(old)


def hpo(tuner_name: str, train_spaces, test_spaces, meta: str, evals: int, repeats: int = 3,
        budget: int = 200, seed: int = 0, n_jobs: int = 1, dask_scheduler: str | None = None,
        out_dir=None, names=None, test_repeats: int | None = None,
        progress: bool | None = None, objective: str | None = None) -> dict:
    """Search the tuner's hyperparameters with `meta`; objective = aggregate score on the
    training spaces. The defaults are the first meta-evaluation. Reports the best setting's
    and the defaults' train and test scores; writes hpo.csv, hpo.json and hpo.png to out_dir."""
    from tqdm import tqdm

    from .evaluate import evaluate_setting
    table = hpo_table(tuner_name, names)
    if meta not in STRATEGIES:
        raise UserError(f"unknown meta-strategy {meta!r}; choose from {', '.join(STRATEGIES)}")
    if test_repeats is not None and (not isinstance(test_repeats, int) or test_repeats < 1):
        raise UserError(f"test_repeats must be a positive integer, got {test_repeats!r}")
    if not test_spaces:
        raise UserError("no test space: generalisation is measured on held-out spaces")
    common = dict(repeats=repeats, budget=budget, seed=seed, n_jobs=n_jobs,
                  dask_scheduler=dask_scheduler, stop_at_cutoff=True, objective=objective)
    # check all arguments and files once, before the first long evaluation
    from .evaluate import _check_args
    _check_args(tuner_name, list(train_spaces) + list(test_spaces), repeats, budget, n_jobs, 20)
    rows = []
    bar = tqdm(total=evals, desc=f"hpo {meta}", unit="eval",
               disable=None if progress is None else not progress)
    t_start = time.perf_counter()

    def objective(hp):
        t0 = time.perf_counter()
        err = ""
        try:
            score = evaluate_setting(tuner_name, hp, train_spaces, **common)["score"]
        except UserError:
            raise
        except Exception as e:          # a setting that crashes the tuner scores PENALTY
            score, err = PENALTY, f"{type(e).__name__}: {e}"
        rows.append({"eval": len(rows) + 1, "score": score, "error": err,
                     "wall_seconds": round(time.perf_counter() - t0, 3), **hp})
        bar.update()
        bar.set_postfix(best=f"{max(r['score'] for r in rows):.3f}")
        return score

    defaults = {k: hp.default for k, hp in table.items()}
    try:
        history = run_meta(meta, table, objective, evals, seed, x0=defaults)
    finally:
        bar.close()
    best_i = int(np.argmax([s for _, s in history]))
    best_hp, best_train = history[best_i]
    default_train = history[0][1]
    tcommon = dict(common, repeats=test_repeats or repeats)
    best_test = evaluate_setting(tuner_name, best_hp, test_spaces, **tcommon)
    default_test = best_test if best_i == 0 else \
        evaluate_setting(tuner_name, defaults, test_spaces, **tcommon)
    summary = {
        "tuner": tuner_name, "meta": meta, "evals": int(evals), "n_evaluated": len(history),
        "repeats": int(repeats), "test_repeats": int(tcommon["repeats"]), "budget": int(budget),
        "seed": int(seed), "searched": list(table), "train": [str(s) for s in train_spaces],
        "test": [str(s) for s in test_spaces],
        "best_hparams": best_hp, "best_eval": best_i + 1, "best_train_score": best_train,
        "best_test_score": best_test["score"], "best_test_score_std": best_test["score_std"],
        "default_hparams": defaults, "default_train_score": default_train,
        "default_test_score": default_test["score"],
        "default_test_score_std": default_test["score_std"],
        "train_improvement_pct": _improvement(best_train, default_train),
        "test_improvement_pct": _improvement(best_test["score"], default_test["score"]),
        "test_per_space": {s["space"]: {"best": s["score"], "default": d["score"]}
                           for s, d in zip(best_test["per_space"], default_test["per_space"])},
        "n_failed": sum(1 for r in rows if r["error"]),
        "wall_seconds": round(time.perf_counter() - t_start, 1)}
    if out_dir is not None:
        summary["out"] = save_results(out_dir, rows, summary)
    return summary


def save_results(out_dir, rows: list[dict], summary: dict) -> dict:
    """hpo.csv (one row per meta-evaluation), hpo.json (summary), hpo.png (score plot)."""
    import json
    from pathlib import Path

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    df["best_so_far"] = df["score"].cummax()
    paths = {"csv": str(out / "hpo.csv"), "json": str(out / "hpo.json"),
             "png": str(out / "hpo.png")}
    df.to_csv(paths["csv"], index=False)
    Path(paths["json"]).write_text(json.dumps(summary, indent=2, default=float) + "\n")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(df["eval"], df["score"], "o", ms=3, alpha=0.6, label="setting (train score)")
    ax.plot(df["eval"], df["best_so_far"], "-", label="best so far")
    ax.axhline(summary["default_train_score"], ls=":", c="grey", label="defaults")
    ax.set_xlabel("meta-evaluations")
    ax.set_ylabel("aggregate score P (train)")
    ax.set_title(f"{summary['tuner']} HPO with {summary['meta']}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(paths["png"], dpi=120)
    plt.close(fig)
    return paths


__all__ = ["DEFAULT_SUBSET", "Dim", "PENALTY", "STRATEGIES", "dims_of", "hpo", "hpo_table",
           "run_meta", "save_results"]
