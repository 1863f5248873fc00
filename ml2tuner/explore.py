"""Candidate generation over model scores (higher score = better).

`SimulatedAnnealing` is AutoTVM's optimizer: parallel walkers, one random knob changed per step,
Metropolis acceptance with a temperature falling linearly from 1 to 0, a top-k heap of unvisited
points, early stop when the heap stops changing, persistent walkers between calls. Scores are
evaluated in batches and memoised per call, so the cost is a handful of model predictions.
`exhaustive_top` scores every unvisited configuration: exact and cheaper for small spaces; ties
(common: trees score whole regions alike) are broken at random when given a generator.
"""
from __future__ import annotations

import heapq

import numpy as np


def _top_unvisited(scores: np.ndarray, idx: np.ndarray, visited: set, k: int,
                   rng: np.random.Generator | None = None) -> list[int]:
    # a tree model scores whole regions alike: break its ties at random (given a generator),
    # not by index, which would always favour the knobs' first values
    order = (np.argsort(-scores, kind="stable") if rng is None
             else np.lexsort((rng.random(scores.size), -scores)))
    out = []
    for j in order:
        i = int(idx[j])
        if i not in visited:
            out.append(i)
            if len(out) == k:
                break
    return out


def exhaustive_top(space, score_fn, k: int, visited: set, chunk: int = 65536,
                   rng: np.random.Generator | None = None) -> list[int]:
    """The k unvisited indices with the highest scores, best first.

    `score_fn(indices: int64 array) -> float array` of the same length (higher is better; -inf
    excludes a configuration). Ties are broken at random with `rng` (a tree model scores whole
    regions alike, and breaking by index piles picks onto the knobs' first values), else by
    the lower index. Fewer than k come back only when fewer than k are unvisited."""
    n = len(space)
    if k <= 0:
        return []
    if n > 2_000_000:
        raise ValueError("space too large for exhaustive scoring; use simulated annealing")
    idx = np.arange(n, dtype=np.int64)
    scores = np.concatenate([score_fn(idx[s:s + chunk]) for s in range(0, n, chunk)])
    return _top_unvisited(scores, idx, visited, k, rng)


class SimulatedAnnealing:
    def __init__(self, space, rng, n_iter=500, parallel_size=128, early_stop=50,
                 temp=(1.0, 0.0), persistent=True, scale_scores=True):
        self.space, self.rng = space, rng
        # AutoTVM accepts on raw score differences; scaling by their spread makes the
        # temperature schedule independent of the model's units
        self.scale_scores = bool(scale_scores)
        self.n_iter, self.parallel_size, self.early_stop = int(n_iter), int(parallel_size), int(early_stop)
        self.temp, self.persistent = temp, persistent
        self.points: np.ndarray | None = None      # walker positions (value positions)

    def _random_walk(self, pos: np.ndarray) -> np.ndarray:
        """Change one random knob of each walker to another value (AutoTVM's random_walk)."""
        new = pos.copy()
        radix = self.space.radix
        n = len(new)
        # an unused draw, left in on purpose: removing it shifts every later draw, so every
        # recorded xgb trace and figure would change with no change in the method
        self.rng.integers(0, len(radix), size=n)
        # knobs with a single value cannot change; pick among the others
        movable = np.flatnonzero(radix > 1)
        if movable.size == 0:
            return new
        knob = movable[self.rng.integers(0, movable.size, size=n)]
        step = self.rng.integers(1, radix[knob])
        new[np.arange(n), knob] = (new[np.arange(n), knob] + step) % radix[knob]
        return new

    def find_maximums(self, score_fn, k: int, visited: set) -> list[int]:
        """Up to k distinct unvisited indices with the highest scores the walk met, best first.

        `score_fn` as for `exhaustive_top`; each index is scored at most once per call. Among
        equal scores the one met first stays in the top k. Deterministic given the rng's state;
        with `persistent`, walkers resume from where the previous call left them."""
        if k <= 0:
            return []
        space = self.space
        n_space = len(space)
        cache: dict[int, float] = {}

        def scores_of(idx):
            miss = [i for i in dict.fromkeys(idx.tolist()) if i >= 0 and i not in cache]
            if miss:
                for i, s in zip(miss, score_fn(np.array(miss, dtype=np.int64))):
                    cache[i] = float(s)
            return np.array([cache[i] if i >= 0 else -np.inf for i in idx.tolist()])

        if self.points is None or not self.persistent:
            start = space.sample(self.rng, min(self.parallel_size, n_space))
            self.points = space.value_positions(start)
        pos = self.points
        idx = space.positions_to_indices(pos)
        cur = scores_of(idx)
        scale = float(np.std(cur[np.isfinite(cur)])) if np.isfinite(cur).sum() > 1 else 1.0
        scale = scale if scale > 1e-12 and self.scale_scores else 1.0
        heap: list[tuple[float, int]] = []     # min-heap of the top k (score, index)
        in_heap: set[int] = set()

        def push(idxs, sc):
            changed = False
            for i, s in zip(idxs.tolist(), sc.tolist()):
                if i < 0 or i in visited or i in in_heap:
                    continue
                if len(heap) < k:
                    heapq.heappush(heap, (s, i))
                elif s > heap[0][0]:
                    in_heap.discard(heapq.heapreplace(heap, (s, i))[1])
                else:
                    continue
                in_heap.add(i)
                changed = True
            return changed

        push(idx, cur)
        t0, t1 = self.temp
        since = 0
        for it in range(self.n_iter):
            t = t0 + (t1 - t0) * it / max(1, self.n_iter)
            new_pos = self._random_walk(pos)
            new_idx = space.positions_to_indices(new_pos)   # -1: not a member (restricted)
            new_sc = scores_of(new_idx)
            with np.errstate(over="ignore", invalid="ignore"):
                prob = np.exp(np.minimum((new_sc - cur) / scale / (t + 1e-5), 1.0))
            accept = (self.rng.random(len(pos)) < prob) & (new_idx >= 0)
            pos = np.where(accept[:, None], new_pos, pos)
            cur = np.where(accept, new_sc, cur)
            since = 0 if push(new_idx, new_sc) else since + 1
            if since >= self.early_stop:
                break
        self.points = pos
        return [i for _, i in sorted(heap, key=lambda e: -e[0])]
