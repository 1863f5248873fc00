"""The ML2 step: pool -> V -> compile -> A -> N, one implementation for every user.

ML2Tuner (replay, the accelerator simulator, Kernel Tuner caches) and the TVM cost model
(`tvm.cost_model.ML2Models.select`) both pick a batch this way:

1. **pool**: candidates the proposal model (P, or an explorer over P) ranks best, best first;
2. **V**: keep those whose predicted validity is at least the threshold, in pool order (at
   most `cap`). When fewer than N pass, the likeliest valid of the rest fill up to N: a short
   batch would waste the round, and V's probabilities still order the rest. Ties keep pool
   order (a stable sort), so the result never depends on the sort algorithm;
3. **compile**: the survivors are compiled (a callback that returns those that compiled, and
   may add candidates of its own, e.g. an incumbent's neighbours that V passes); compiling
   yields the hidden features;
4. **A**: the compiled candidates, and any the caller adds (`also`), are ranked best first by
   a score, A's on hidden features where A is trained, else P's; NaN marks a candidate that
   cannot be ranked (it failed to compile) and drops it; with no model yet, the order is
   random;
5. **N**: the caller takes the first N (it may put picks of its own in front).

Callbacks receive and return plain lists of candidates (any hashable: configuration indices,
or positions in a TVM candidate list), so the step holds no model and no measurer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


@dataclass
class Step:
    """What `ml2_step` did. `ranked`: candidates best first (take the first N); `compiled`:
    V's survivors that compiled (before `also`); `p_valid`: V's probability per pool member;
    `n_rejected`: pool members below V's threshold (0 when V is not active)."""
    ranked: list
    compiled: list
    p_valid: np.ndarray
    n_rejected: int


def screen_by_validity(p_valid, threshold: float, n: int, cap: int | None = None,
                       active: bool = True) -> np.ndarray:
    """Positions (into the pool) that pass V: those with p_valid >= threshold in pool order, at
    most `cap`; filled up to `n` with the likeliest of the others (stable: ties keep pool
    order). With `active` False, V passes everything (up to `cap`)."""
    pv = np.asarray(p_valid, dtype=np.float64)
    ok = np.flatnonzero(pv >= threshold) if active else np.arange(pv.size)
    if cap is not None:
        ok = ok[:max(int(cap), 0)]
    if ok.size < n:
        others = np.setdiff1d(np.arange(pv.size), ok)
        fill = others[np.argsort(-pv[others], kind="stable")[:n - ok.size]]
        ok = np.concatenate([ok, fill])
    return ok


def rank_best_first(cand: list, scores, rng: np.random.Generator | None = None) -> list:
    """`cand` ordered by `scores` (higher is better; ties keep order; NaN drops the
    candidate). scores None: no model to rank by yet, a random order drawn from `rng`."""
    if scores is None:
        if rng is None:
            raise ValueError("ranking without scores needs an rng")
        return [cand[j] for j in np.argsort(-rng.uniform(size=len(cand)), kind="stable")]
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != (len(cand),):
        raise ValueError(f"{s.size} scores for {len(cand)} candidates")
    keep = np.flatnonzero(~np.isnan(s))
    return [cand[j] for j in keep[np.argsort(-s[keep], kind="stable")]]


def ml2_step(pool: Sequence, n: int, *, p_valid: Callable[[list], np.ndarray],
             v_threshold: float, score: Callable[[list], np.ndarray | None],
             v_active: bool = True, cap: int | None = None,
             compile: Callable[[list], list] | None = None,
             also: Callable[[list], list] | None = None,
             rng: np.random.Generator | None = None) -> Step:
    """One ML2 step over `pool` (module notes). p_valid(pool): V's probabilities; score(cands):
    higher-is-better scores (NaN: drop; None: no model yet, random order from `rng`);
    compile(cands): the candidates that compiled (default: all); also(compiled): more
    candidates to rank with them."""
    pool = list(pool)
    pv = np.asarray(p_valid(pool), dtype=np.float64) if pool else np.empty(0)
    keep = screen_by_validity(pv, v_threshold, int(n), cap, v_active)
    n_rejected = int(np.sum(pv < v_threshold)) if v_active else 0
    cand = [pool[j] for j in keep]
    compiled = compile(cand) if compile is not None else cand
    cand = compiled + (also(compiled) if also is not None else [])
    ranked = rank_best_first(cand, score(cand), rng) if cand else []
    return Step(ranked, compiled, pv, n_rejected)


__all__ = ["Step", "ml2_step", "rank_best_first", "screen_by_validity"]
