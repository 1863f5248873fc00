"""Meta-level check: replay the meta-strategies on exhaustive hyperparameter grids.

Each grid (a Kernel Tuner cache whose configurations are hyperparameter settings of a strategy
and whose objective `score` is higher-better) is searched through its own knobs, as a table of
categorical hyperparameters (ordinal where the values are ascending numbers). We count the
distinct meta-evaluations until the best grid point is evaluated, capped at the grid size.

Points outside the grid: a strategy proposes a value of each knob, so with a full-product grid
every point is a member. For a restricted grid a non-member point is mapped to its nearest member
(L1 distance over value positions scaled to [0, 1] per knob; ties to the lowest index); the
member is what is evaluated, cached and counted, so mapping never counts a point twice.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import SpaceError, UserError
from ..hparams import HP
from ..kt_cache import ExhaustiveData, load_exhaustive
from .meta import STRATEGIES, run_meta


def grid_table(data: ExhaustiveData) -> dict:
    return {k.name: HP(k.values[0], choices=tuple(k.values)) for k in data.space.knobs}


def nearest_member(space, config: dict) -> int:
    try:
        return space.config_to_index(config)
    except SpaceError:
        pass
    pos = np.array([k.values.index(config[k.name]) for k in space.knobs], dtype=float)
    scale = np.maximum(space.radix - 1, 1).astype(float)
    members = space.value_positions(np.arange(len(space))).astype(float)
    return int(np.argmin((np.abs(members - pos) / scale).sum(axis=1)))


def evals_to_best(data: ExhaustiveData, strategy: str, seed: int,
                  cap: int | None = None) -> int | None:
    """Distinct meta-evaluations until a best grid point is evaluated (None: not within cap)."""
    space = data.space
    cap = len(space) if cap is None else int(cap)
    best = data.optimum
    tol = 1e-12 * max(1.0, abs(best))

    def canonical(hp):
        return space.index_to_config(nearest_member(space, hp))

    def objective(hp):
        return -float(data.cost[space.config_to_index(hp)])    # cost = -score

    hist = run_meta(strategy, grid_table(data), objective, cap, seed, canonical=canonical,
                    target=-best - tol)        # no need to go on once the best is found
    for n, (_, score) in enumerate(hist, 1):
        if -score <= best + tol:
            return n
    return None


def check_grid(path, strategies=STRATEGIES, seeds=range(10), cap=None) -> list[dict]:
    """One row per strategy: evaluations to reach the best grid point over `seeds`."""
    data = load_exhaustive(path)
    if not data.meta.get("maximize"):
        obj = data.meta.get("objective")
        raise UserError(f"{path}: not a hyperparameter grid (objective {obj!r} is not a "
                        "higher-is-better score)")
    n = len(data)
    n_best = int(np.sum(data.cost[data.valid] <= data.optimum + 1e-12 * max(1, abs(data.optimum))))
    rows = []
    for s in strategies:
        got = [evals_to_best(data, s, seed, cap) for seed in seeds]
        hit = [g for g in got if g is not None]
        rows.append({
            "grid": Path(path).name.replace(".json.gz", "").replace("bruteforce_", ""),
            "size": n, "best_score": -data.optimum, "n_best": n_best, "strategy": s,
            "seeds": len(got), "reached": len(hit), "cap": cap or n,
            "mean": float(np.mean(hit)) if hit else None,
            "median": float(np.median(hit)) if hit else None,
            "max": int(max(hit)) if hit else None,
            # random search without replacement: exact expected draws to the first best point
            "random_expected": (n + 1) / (n_best + 1), "per_seed": got})
    return rows


def format_table(rows: list[dict]) -> str:
    def f(v):
        return "-" if v is None else (f"{v:.1f}" if isinstance(v, float) else str(v))
    head = (f"{'grid':22s} {'size':>5s} {'strategy':15s} {'reached':>8s} {'mean':>6s} "
            f"{'median':>6s} {'max':>5s} {'E[random]':>9s}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['grid']:22s} {r['size']:5d} {r['strategy']:15s} "
                     f"{r['reached']:>3d}/{r['seeds']:<4d} {f(r['mean']):>6s} "
                     f"{f(r['median']):>6s} {f(r['max']):>5s} {r['random_expected']:9.1f}")
    return "\n".join(lines)


__all__ = ["check_grid", "evals_to_best", "format_table", "grid_table", "nearest_member"]
