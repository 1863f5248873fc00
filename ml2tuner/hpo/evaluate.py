"""Evaluate one hyperparameter setting of a tuner: replayed runs on several spaces, scored.

Each (space, repeat) is one task: a pure function of (space path, tuner, hyperparameters, seed)
that returns a small dict. Seeds come from (seed, space index, repeat), never from execution
order, so serial, joblib and Dask runs give identical results. Because tasks are pure, Dask may
simply recompute one whose worker died: a result is neither lost nor counted twice.

Score (`score_runs` and `score_runs_time` of `hpo/score.py`, after "Tuning the Tuner"): P at
`n_points` budget points evenly spaced up to min(budget, cutoff) samples, and its twin on the
simulated-time axis; a run shorter than a budget point keeps its last best.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..hparams import resolve
from ..kt_cache import ExhaustiveData, load_exhaustive
from .score import best_found_curve, budget_points, score_runs, score_runs_time, time_points

_DATA: dict[tuple, ExhaustiveData] = {}    # per process: each worker loads a space once


def load_space(path, objective: str | None = None) -> ExhaustiveData:
    """The exhaustive data at `path`, read once per process; `objective` names the Kernel Tuner
    cache field to read (default: the cache's own, else `time`)."""
    key = (str(Path(path).resolve()), objective)
    if key not in _DATA:
        _DATA[key] = load_exhaustive(key[0], objective=objective)
    return _DATA[key]


def space_kind(path, objective: str | None = None) -> str:
    """"compiler" when the space records hidden features (a tuner can compile candidates
    before measuring them), else "no_compiler" (`hparams.SPACE_KINDS`)."""
    return "compiler" if load_space(path, objective).hidden is not None else "no_compiler"


def run_seed(seed: int, space_index: int, repeat: int) -> int:
    """The seed of one run, from (seed, space index, repeat) only."""
    return int(np.random.SeedSequence([int(seed), int(space_index), int(repeat)])
               .generate_state(1)[0])


class _StopRun(Exception):
    """Raised from the run's callback once the score has seen all it will read."""


def run_one(path: str, tuner_name: str, hparams: dict, seed: int, budget: int,
            n_points: int = 20, stop_at_cutoff: bool = False,
            objective: str | None = None) -> dict:
    """One replayed tuning run, scored on both axes. The task that workers execute.

    score: P on the sample axis; score_time: P on the simulated-time axis, where a sample is
    done at the replay clock's reading after it (compiles the tuner asked for are on that
    clock). stop_at_cutoff: stop once both axes are past their last budget point (same
    scores, less work)."""
    from ..replay import ReplayMeasurer
    from ..tuners import make_tuner
    data = load_space(path, objective)
    k = budget_points(data, budget, n_points)
    t_pts = time_points(data, budget, n_points)
    measurer = ReplayMeasurer(data)
    tuner = make_tuner(tuner_name, data.space, seed=seed, **hparams)
    hist, clock = [], []

    def record(_tuner, r):
        hist.append(r)
        clock.append(float(measurer.clock))
        if stop_at_cutoff and len(hist) >= k[-1] and clock[-1] >= t_pts[-1]:
            raise _StopRun

    t0 = time.perf_counter()
    try:
        tuner.tune(int(budget), measurer, callbacks=[record])
    except _StopRun:
        pass
    wall = time.perf_counter() - t0
    curve = best_found_curve(hist)
    p = score_runs([curve], data, n_points, budget=budget)
    pt = score_runs_time([(clock, curve)], data, n_points, budget=budget)
    worst = float(data.valid_costs_sorted[-1])
    best = float(curve[-1]) if curve.size and np.isfinite(curve[-1]) else worst
    opt = data.optimum
    return {"score": p.mean, "score_time": pt.mean, "curve": p.curve.tolist(),
            "best_found": best, "optimum": opt,
            # a ratio of costs only makes sense for a positive cost (time); not for -score
            "best_over_optimum": best / opt if opt > 0 else None,
            "n_invalid": int(sum(not r.valid for r in hist)), "n_measured": len(hist),
            "sim_seconds": float(measurer.clock), "wall_seconds": wall,
            "horizon": int(p.budgets[-1]), "horizon_seconds": float(pt.budgets[-1])}


def run_safe(*args) -> dict:
    """`run_one`, with a tuner's exception returned as {"crash": "Type: message"}: a setting
    that crashes the tuner is reported as a crash, not scored."""
    try:
        return run_one(*args)
    except UserError:
        raise
    except Exception as e:      # noqa: BLE001 - any tuner failure is a reportable crash
        return {"crash": f"{type(e).__name__}: {e}"}


# ----- executing tasks -----------------------------------------------------------------------
_CLIENTS: dict = {}


def check_dask_address(address: str) -> str:
    """`address` if it reads as a scheduler address (scheme://host:port); else a UserError.
    Checked before a Client is made: a Client given a malformed address hangs on close."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends
    try:
        scheme, loc = parse_address(str(address))
        if scheme not in backends:
            raise ValueError(f"unknown scheme {scheme!r} (use one of {', '.join(backends)})")
        if scheme != "inproc":
            parse_host_port(loc)
    except ValueError as e:
        raise UserError(f"bad Dask scheduler address {address!r}: {e}") from None
    return address


def dask_client(address: str, timeout: float = 5.0):
    """A (cached) `dask.distributed.Client` connected to the scheduler at `address`."""
    c = _CLIENTS.get(address)
    if c is not None and c.status == "running":
        return c
    check_dask_address(address)
    from dask.distributed import Client
    try:
        c = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise UserError(f"cannot connect to the Dask scheduler at {address!r}: {e}") from None
    _CLIENTS[address] = c
    return c


def map_tasks(fn, tasks, n_jobs: int = 1, dask_scheduler: str | None = None,
              desc: str | None = None, progress: bool | None = False) -> list:
    """[fn(*t) for t in tasks], in order: serially, through joblib (`n_jobs`) or on the Dask
    cluster at `dask_scheduler`. progress: tqdm bar (None: only on a terminal)."""
    from tqdm import tqdm
    tasks = [tuple(t) for t in tasks]
    bar = tqdm(total=len(tasks), desc=desc, unit="run", disable=(None if progress is None
                                                                   else not progress))
    try:
        if dask_scheduler:
            from dask.distributed import as_completed
            client = dask_client(dask_scheduler)
            # pure=True: the key is a hash of (fn, args), so a task lost with its worker is
            # simply recomputed and can never yield two results
            futures = client.map(fn, *zip(*tasks), pure=True) if tasks else []
            for _ in as_completed(futures, loop=client.loop):
                bar.update()
            return client.gather(futures)
        if n_jobs == 1:
            out = []
            for t in tasks:
                out.append(fn(*t))
                bar.update()
            return out
        from joblib import Parallel, delayed
        out = []
        for r in Parallel(n_jobs=n_jobs, return_as="generator")(delayed(fn)(*t) for t in tasks):
            out.append(r)
            bar.update()
        return out
    finally:
        bar.close()


# ----- one setting --------------------------------------------------------------------------
def _check_args(tuner_name, spaces, repeats, budget, n_jobs, n_points):
    from ..tuners import TUNERS
    if tuner_name not in TUNERS:
        raise UserError(f"unknown tuner {tuner_name!r}; choose from {', '.join(TUNERS)}")
    if not spaces:
        raise UserError("no space to evaluate on")
    for name, v in (("repeats", repeats), ("budget", budget), ("n_points", n_points)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise UserError(f"{name} must be a positive integer, got {v!r}")
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise UserError(f"jobs must be a positive integer or -1 (all cores), got {n_jobs!r}")
    paths = []
    for s in spaces:
        p = Path(s)
        if not p.is_file():
            raise UserError(f"space file not found: {s}")
        paths.append(str(p.resolve()))
    return TUNERS[tuner_name], paths


def evaluate_setting(tuner_name: str, hparams: dict, spaces, repeats: int, budget: int,
                     seed: int, n_jobs: int = 1, dask_scheduler: str | None = None,
                     n_points: int = 20, stop_at_cutoff: bool = False,
                     progress: bool | None = False, objective: str | None = None) -> dict:
    """Aggregate score of `tuner_name` with `hparams` over `spaces` (exhaustive data files),
    `repeats` runs each of `budget` trials.

    Returns score (mean over spaces, budget points and repeats), score_std (std over repeats of
    each repeat's mean over spaces), per_space details, best_over_optimum_mean,
    n_invalid_mean, simulated and wall seconds. stop_at_cutoff: stop each run at its last
    budget point (same score, less work; best_found is then the best at that point)."""
    cls, paths = _check_args(tuner_name, spaces, repeats, budget, n_jobs, n_points)
    hp = resolve(cls.HYPERPARAMETERS, dict(hparams or {}))
    tasks = [(p, tuner_name, hp, run_seed(seed, si, r), int(budget), int(n_points),
              bool(stop_at_cutoff), objective)
             for si, p in enumerate(paths) for r in range(repeats)]
    t0 = time.perf_counter()
    runs = map_tasks(run_one, tasks, n_jobs, dask_scheduler,
                     desc=f"{tuner_name} x {len(tasks)} runs", progress=progress)
    wall = time.perf_counter() - t0
    per_space, by_repeat = [], np.empty((len(paths), repeats))
    by_repeat_t = np.empty_like(by_repeat)
    for si, p in enumerate(paths):
        rs = runs[si * repeats:(si + 1) * repeats]
        sc = np.array([r["score"] for r in rs])
        by_repeat[si] = sc
        by_repeat_t[si] = [r["score_time"] for r in rs]
        ratios = [r["best_over_optimum"] for r in rs if r["best_over_optimum"] is not None]
        per_space.append({
            "space": Path(p).name, "path": p, "score": float(sc.mean()),
            "score_std": float(sc.std()), "scores": sc.tolist(),
            "score_time": float(by_repeat_t[si].mean()), "scores_time": by_repeat_t[si].tolist(),
            "horizon_seconds": rs[0]["horizon_seconds"],
            "best_found_mean": float(np.mean([r["best_found"] for r in rs])),
            "optimum": rs[0]["optimum"],
            "best_over_optimum_mean": float(np.mean(ratios)) if ratios else None,
            "n_invalid_mean": float(np.mean([r["n_invalid"] for r in rs])),
            "n_measured_mean": float(np.mean([r["n_measured"] for r in rs])),
            "sim_seconds_mean": float(np.mean([r["sim_seconds"] for r in rs])),
            "run_wall_seconds_mean": float(np.mean([r["wall_seconds"] for r in rs])),
            "horizon": rs[0]["horizon"]})
    ratios = [s["best_over_optimum_mean"] for s in per_space
              if s["best_over_optimum_mean"] is not None]
    return {"tuner": tuner_name, "hparams": hp, "repeats": int(repeats), "budget": int(budget),
            "seed": int(seed), "n_points": int(n_points), "stop_at_cutoff": bool(stop_at_cutoff),
            "score": float(by_repeat.mean()),
            "score_std": float(by_repeat.mean(axis=0).std()),
            "score_time": float(by_repeat_t.mean()),
            "score_time_std": float(by_repeat_t.mean(axis=0).std()),
            "best_over_optimum_mean": float(np.mean(ratios)) if ratios else None,
            "n_invalid_mean": float(np.mean([r["n_invalid"] for r in runs])),
            "sim_seconds_total": float(sum(r["sim_seconds"] for r in runs)),
            "wall_seconds": wall, "per_space": per_space}


__all__ = ["budget_points", "dask_client", "evaluate_setting", "load_space", "map_tasks",
           "run_one", "run_seed"]
