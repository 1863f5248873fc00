"""Kernel Tuner's own strategies as peers, run through Kernel Tuner's simulation mode.

`run_strategy` calls `kernel_tuner.tune_kernel(..., simulation_mode=True, cache=...)` on a Kernel
Tuner cache and returns the configurations in the order Kernel Tuner first evaluated them, as
indices of the cache's `Space`, so that they are scored exactly like ml2tuner's own tuners.

Budget: `strategy_options={"max_fevals": B}`. Kernel Tuner's simulation runner counts one
function evaluation per configuration served from the cache for the first time, failed ones
(compile or runtime errors recorded in the cache) included; repeat visits are free. Its search
space is restricted to the configurations present in the cache, failures included, so failures
are evaluated and charged as they would be on the GPU. (`kernel_tuner.tune_cache` instead
restricts the space to the *valid* configurations, which would tell every strategy in advance
which configurations fail.)

Kernel Tuner strategies draw from Python's `random` and NumPy's global generator; both are seeded
before each run. Kernel Tuner is an optional dependency (the `bench` extra).
"""
from __future__ import annotations

import json
import random
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .errors import UserError
from .data.exhaustive import ExhaustiveData, _read_json, load_kt_cache

#: the strategies the GPU-cache benchmark compares against, with Kernel Tuner's defaults
STRATEGIES = ("genetic_algorithm", "pso", "firefly_algorithm", "simulated_annealing",
              "dual_annealing", "bayes_opt", "random_sample")

_PREPARED: dict[str, tuple] = {}    # per process: cache path -> (trimmed copy, header, keys)
# the fields of a cache entry that simulation mode reads besides the knobs and the objective
_KEEP = ("compile_time", "verification_time", "benchmark_time")


def _kernel_tuner():
    try:
        import kernel_tuner
    except ImportError:
        raise UserError("Kernel Tuner is not installed: pip install 'ml2tuner[bench]'") from None
    return kernel_tuner


def _prepare(path: Path, data: ExhaustiveData) -> tuple:
    """Kernel Tuner reads only uncompressed `.json` caches and parses the whole file on every
    run: write, once per process, an uncompressed copy without the per-run `times` lists and
    other fields simulation mode never reads."""
    key = str(path.resolve())
    if key not in _PREPARED:
        raw, _note = _read_json(path)
        obj = data.meta["objective"]
        names = list(raw["tune_params_keys"])
        keep = set(names) | {obj, *_KEEP}
        trimmed = {k: v for k, v in raw.items() if k != "cache"}
        trimmed["cache"] = {k: {f: v for f, v in e.items() if f in keep}
                            for k, e in raw["cache"].items()}
        out = Path(tempfile.mkdtemp(prefix="ml2tuner-kt-")) / "cache.json"
        out.write_text(json.dumps(trimmed))
        present = {tuple(e[n] for n in names) for e in raw["cache"].values()}
        _PREPARED[key] = (out, {k: v for k, v in raw.items() if k != "cache"}, present)
    return _PREPARED[key]


def run_strategy(path, strategy: str, budget: int, seed: int, data: ExhaustiveData | None = None,
                 options: dict | None = None) -> list[int]:
    """Indices (of `data.space`) that Kernel Tuner's `strategy` evaluated, in first-visit order,
    with at most `budget` of them. `data` defaults to `load_kt_cache(path)`."""
    kt = _kernel_tuner()
    path = Path(path)
    data = data if data is not None else load_kt_cache(path)
    if data.meta.get("format") != "kerneltuner":
        raise UserError(f"{path}: Kernel Tuner's simulation mode needs a native cache, not "
                        f"{data.meta.get('format')!r}")
    plain, header, present = _prepare(path, data)
    space = data.space
    names = list(header["tune_params_keys"])

    def in_cache(p: dict) -> bool:
        return tuple(p[n] for n in names) in present

    size = header["problem_size"]
    size = (size,) if isinstance(size, int) else tuple(size)
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results, _env = kt.tune_kernel(
            header["kernel_name"], "", size, [], header["tune_params"], restrictions=in_cache,
            cache=str(plain), simulation_mode=True, strategy=strategy,
            strategy_options={"max_fevals": int(budget), **(options or {})},
            objective=data.meta["objective"],
            objective_higher_is_better=bool(data.meta["maximize"]), quiet=True, verbose=False)
    order: list[int] = []
    seen: set[int] = set()
    for r in results:
        i = space.config_to_index({n: r[n] for n in names})
        if i not in seen:
            seen.add(i)
            order.append(i)
    return order[:int(budget)]


__all__ = ["STRATEGIES", "run_strategy"]
