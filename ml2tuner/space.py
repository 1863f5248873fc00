"""Search spaces: knobs and their candidate values, index <-> config, feature encoding, neighbours.

A space is the Cartesian product of its knobs' values, optionally restricted to an explicit
member list (a Kernel Tuner cache only holds the configurations that pass the kernel's
restrictions). Each configuration has a *key*: its mixed-radix number over the knobs' value
positions (last knob fastest). Tuners work with *indices* 0..len(space)-1; for a full product
index == key, for a restricted space index is the rank of the key among the members.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SpaceError


@dataclass(frozen=True)
class Knob:
    name: str
    values: tuple

    def __post_init__(self):
        if not self.values:
            raise SpaceError(f"knob {self.name!r} has no values")
        if len(set(self.values)) != len(self.values):
            raise SpaceError(f"knob {self.name!r} has duplicate values")

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                   for v in self.values)


class Space:
    """The configurations a tuner may pick, numbered 0..len(space)-1.

    Contract, for every index i of the space:
    * `config_to_index(index_to_config(i)) == i`; a config that is not a member (a value
      outside its knob, a missing or extra knob, a point a restricted space leaves out) raises
      `SpaceError`;
    * `features(indices)` is a float (n, len(names)) matrix: a numeric knob's own value, a
      non-numeric knob's value position; the same config always gives the same row;
    * `sample(rng, k, exclude)` returns distinct members not in `exclude`, fewer when fewer
      remain, and draws only from `rng` (so a seeded tuner is reproducible);
    * `to_dict()` / `from_dict()` round-trip knobs, values, members and name (traces record it),
      and `signature()` changes whenever one of them does.
    """

    def __init__(self, knobs, members=None, name: str = ""):
        self.knobs = [k if isinstance(k, Knob) else Knob(k[0], tuple(k[1])) for k in knobs]
        if not self.knobs:
            raise SpaceError("a space needs at least one knob")
        self.name = name
        self.names = [k.name for k in self.knobs]
        self.radix = np.array([len(k.values) for k in self.knobs], dtype=np.int64)
        self.strides = np.ones(len(self.knobs), dtype=np.int64)
        for j in range(len(self.knobs) - 2, -1, -1):
            self.strides[j] = self.strides[j + 1] * self.radix[j + 1]
        self.product_size = int(np.prod(self.radix))
        self._pos = [{v: i for i, v in enumerate(k.values)} for k in self.knobs]
        # numeric encoding of each knob value (category position for non-numeric knobs)
        self._codes = [np.array(k.values, dtype=np.float64) if k.numeric
                       else np.arange(len(k.values), dtype=np.float64) for k in self.knobs]
        if members is None:
            self._keys = None
        else:
            keys = np.unique(np.asarray(members, dtype=np.int64))
            if keys.size == 0:
                raise SpaceError("a restricted space needs at least one member")
            if keys[0] < 0 or keys[-1] >= self.product_size:
                raise SpaceError("member key outside the product of the knobs")
            self._keys = keys

    # ----- size and conversion -------------------------------------------------------------
    def __len__(self) -> int:
        return self.product_size if self._keys is None else int(self._keys.size)

    @property
    def restricted(self) -> bool:
        return self._keys is not None

    def keys(self, indices) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64)
        return idx if self._keys is None else self._keys[idx]

    def value_positions(self, indices) -> np.ndarray:
        """(n, d) matrix of value positions for an array of indices."""
        keys = self.keys(np.atleast_1d(indices))
        return (keys[:, None] // self.strides[None, :]) % self.radix[None, :]

    def positions_to_indices(self, pos) -> np.ndarray:
        """Indices of rows of value positions; -1 where a row is not a member."""
        keys = np.asarray(pos, dtype=np.int64) @ self.strides
        if self._keys is None:
            return keys
        at = np.searchsorted(self._keys, keys)
        at_c = np.minimum(at, self._keys.size - 1)
        return np.where(self._keys[at_c] == keys, at_c, -1)

    def index_to_config(self, index: int) -> dict:
        if not 0 <= int(index) < len(self):
            raise SpaceError(f"index {index} outside the space of size {len(self)}")
        pos = self.value_positions([int(index)])[0]
        return {k.name: _plain(k.values[p]) for k, p in zip(self.knobs, pos)}

    def autotvm_strides(self) -> np.ndarray:
        """Strides of AutoTVM's numbering of the product of these knobs: ConfigSpace.get()
        (tvm/autotvm/task/space.py) decodes an index with the first defined knob varying
        fastest, where this class lets the last knob vary fastest."""
        return np.concatenate([[1], np.cumprod(self.radix[:-1])]).astype(np.int64)

    def autotvm_index(self, index: int) -> int:
        """AutoTVM's index of a configuration (knobs defined in this space's order, each with
        its candidates in this order, as VTA's templates define them), to match AutoTVM logs."""
        return int(self.value_positions([int(index)])[0] @ self.autotvm_strides())

    def config_to_index(self, config: dict) -> int:
        if not isinstance(config, dict):
            raise SpaceError("a configuration must be a JSON object of knob values")
        unknown = sorted(set(config) - set(self.names))
        if unknown:
            raise SpaceError(f"unknown knob {unknown[0]!r}; knobs are {', '.join(self.names)}")
        pos = []
        for k, table in zip(self.knobs, self._pos):
            if k.name not in config:
                raise SpaceError(f"configuration lacks knob {k.name!r}")
            v = config[k.name]
            if v not in table:
                raise SpaceError(f"value {v!r} of knob {k.name!r} is not in the space "
                                 f"(candidates: {list(k.values)})")
            pos.append(table[v])
        i = int(self.positions_to_indices(np.array([pos]))[0])
        if i < 0:
            raise SpaceError(f"configuration {config} is not a member of the space")
        return i

    # ----- features --------------------------------------------------------------------------
    def features(self, indices) -> np.ndarray:
        """Numeric knob values, one column per knob: Model P's visible features."""
        pos = self.value_positions(indices)
        return np.stack([c[pos[:, j]] for j, c in enumerate(self._codes)], axis=1)

    def feature_names(self) -> list[str]:
        return list(self.names)

    # ----- sampling and neighbourhoods ----------------------------------------------------------
    def sample(self, rng: np.random.Generator, k: int, exclude=None) -> np.ndarray:
        """k distinct indices uniformly at random, none of them in `exclude` (fewer if exhausted)."""
        n = len(self)
        excl = exclude if isinstance(exclude, (set, frozenset)) else (
            set(int(i) for i in exclude) if exclude is not None else set())
        free = n - len(excl)
        k = min(k, free)
        if k <= 0:
            return np.empty(0, dtype=np.int64)
        if free < 4 * k or n <= 50_000:
            # a mask rather than setdiff1d: the same sorted pool, without a sort per call
            # (tuners draw a few configurations at a time, thousands of times per run)
            keep = np.ones(n, dtype=bool)
            keep[np.fromiter(excl, dtype=np.int64, count=len(excl))] = False
            return rng.choice(np.flatnonzero(keep), size=k, replace=False)
        out: list[int] = []
        seen = set(excl)
        while len(out) < k:
            for i in rng.integers(0, n, size=2 * (k - len(out))):
                if int(i) not in seen:
                    seen.add(int(i))
                    out.append(int(i))
                    if len(out) == k:
                        break
        return np.array(out, dtype=np.int64)

    def neighbours(self, index: int) -> np.ndarray:
        """Indices of members that differ from `index` in exactly one knob."""
        pos = self.value_positions([index])[0]
        rows = []
        for j, r in enumerate(self.radix):
            for p in range(int(r)):
                if p != pos[j]:
                    q = pos.copy()
                    q[j] = p
                    rows.append(q)
        if not rows:
            return np.empty(0, dtype=np.int64)
        idx = self.positions_to_indices(np.array(rows))
        return idx[idx >= 0]

    # ----- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {"name": self.name, "size": len(self),
             "knobs": {k.name: [_plain(v) for v in k.values] for k in self.knobs}}
        if self._keys is not None:
            d["members"] = self._keys.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Space":
        try:
            knobs = [Knob(name, tuple(values)) for name, values in d["knobs"].items()]
        except (KeyError, AttributeError, TypeError) as e:
            raise SpaceError(f"malformed space description: {e}") from None
        return cls(knobs, members=d.get("members"), name=d.get("name", ""))

    def signature(self) -> str:
        """A short hash identifying the space's knobs, values and members."""
        import hashlib
        import json
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _plain(v):
    """numpy scalars -> Python scalars, so configs serialise to JSON."""
    return v.item() if isinstance(v, np.generic) else v
