"""Model-free baselines: random search, grid search and a genetic algorithm (AutoTVM's)."""
from __future__ import annotations

import numpy as np

from ..hparams import HP
from .base import Tuner


class RandomTuner(Tuner):
    """Uniform random search; with `compile_screen`, each pick is compiled first (charged to
    the clock) and only those that compile are profiled: the control for a compile filter."""
    name = "random"
    HYPERPARAMETERS = {
        "compile_screen": HP(False, choices=(False, True),
                             doc="compile each pick first and profile only those that compile"),
    }

    def __init__(self, space, seed=0, **hp):
        super().__init__(space, seed, **hp)
        self.known_invalid: set[int] = set()

    def _screens(self) -> bool:
        return bool(self.hp["compile_screen"] and self.measurer is not None
                    and self.measurer.has_compiler)

    def has_next(self):
        return len(self.visited | self.known_invalid) < len(self.space)

    def next_batch(self, n):
        if not self._screens():
            return self.random_unvisited(n)
        out: list[int] = []
        while len(out) < n:
            # one draw at a time: no more compiles than needed
            pick = self.space.sample(self.rng, 1, exclude=self.visited | self.known_invalid
                                     | set(out)).tolist()
            if not pick:
                break
            if self.measurer.hidden_features(pick)[0] is None:
                self.known_invalid.add(pick[0])
            else:
                out.append(pick[0])
        return out


class GridTuner(Tuner):
    """Enumerates the space in index order (last knob fastest)."""
    name = "grid"

    def __init__(self, space, seed=0, **hp):
        super().__init__(space, seed, **hp)
        self.pos = 0

    def next_batch(self, n):
        out = []
        while len(out) < n and self.pos < len(self.space):
            if self.pos not in self.visited:
                out.append(self.pos)
            self.pos += 1
        return out


class GATuner(Tuner):
    """AutoTVM's GATuner: fitness-proportional selection, uniform crossover per knob, per-knob
    mutation, elitism; failed configurations have fitness 0."""
    name = "ga"
    HYPERPARAMETERS = {
        "pop_size": HP(100, 4, 1000, doc="population size"),
        "elite_num": HP(3, 0, 100, doc="best individuals kept unchanged"),
        "mutation_prob": HP(0.1, 0.0, 1.0, doc="per-knob mutation probability"),
    }

    def __init__(self, space, seed=0, **hp):
        super().__init__(space, seed, **hp)
        self.pending: list[int] = []
        self.fitness: dict[int, float] = {}

    def batch_size(self):
        return self.hp["pop_size"]

    def next_batch(self, n):
        if not self.pending:
            self.pending = self._next_generation()
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def _next_generation(self) -> list[int]:
        hp, sp = self.hp, self.space
        size = min(hp["pop_size"], len(sp) - len(self.visited))
        if not self.fitness:
            return self.random_unvisited(size)
        ranked = sorted(self.fitness, key=lambda i: -self.fitness[i])[:hp["pop_size"]]
        fit = np.array([self.fitness[i] for i in ranked]) + 1e-12
        genes = sp.value_positions(ranked)
        out: list[int] = []
        taken = set(self.visited)
        tries = 0
        while len(out) < size and tries < 50 * size:
            tries += 1
            a, b = self.rng.choice(len(ranked), size=2, p=fit / fit.sum())
            mask = self.rng.random(genes.shape[1]) < 0.5
            child = np.where(mask, genes[a], genes[b])
            mut = self.rng.random(genes.shape[1]) < hp["mutation_prob"]
            child = np.where(mut, self.rng.integers(0, sp.radix), child)
            i = int(sp.positions_to_indices(child[None, :])[0])
            if i >= 0 and i not in taken:
                taken.add(i)
                out.append(i)
        if len(out) < size:           # population converged: refill at random
            out += sp.sample(self.rng, size - len(out), exclude=taken).tolist()
        return out

    def update(self, results):
        for r in results:
            self.fitness[int(r.index)] = (1.0 / r.cost) if r.valid else 0.0
