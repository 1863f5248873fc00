"""Features of MetaSchedule candidates.

Visible features (Model V and P): the candidate's *knobs*, i.e. the decisions of the sampling
instructions in its schedule trace, read in trace order, with no compilation:

    SamplePerfectTile / SamplePartitionedTile -> one number per factor   d{i}.tile.{j}
    SampleCategorical                          -> the chosen candidate    d{i}.cat
    SampleComputeLocation                      -> the loop index          d{i}.loc
    any other sampling instruction             -> its int decision(s)     d{i}.{kind}[.{j}]

plus `sketch`, a 24-bit CRC of the trace without decisions and postprocessing, which names the
design space (MetaSchedule generates several per task, e.g. 3 for an llvm matmul) the candidate
came from, and features derived from the tile decisions (log2 of products of tile factors; a
handful of samples cannot teach trees these products). MetaSchedule's CPU multi-level tiling
(structure "SSRSRS") splits each spatial loop into 4 factors and each reduction loop into 2,
outermost first, so the longest tile decisions of a trace are the spatial loops:

    agg.spatial_inner   sum of log2 innermost spatial factors (the vectorised/register tile)
    agg.spatial_reg     sum of log2 of the two innermost spatial factors
    agg.spatial_outer   sum of log2 outermost spatial factors (what the parallel loop fuses)
    agg.spatial_outer2  sum of log2 of the two outermost spatial factors
    agg.reduce_inner    sum of log2 innermost reduction factors
    agg.compute_tile    agg.spatial_reg + agg.reduce_inner (work of the innermost loop nest)
    agg.unroll          the first SampleCategorical choice (the auto-unroll step on CPU)
    agg.n_tiles         number of tile decisions
    agg.last_inner      log2 innermost factor of the last spatial loop with extent > 1 (the
                        contiguous axis, which MetaSchedule vectorises)
    agg.prior           |agg.last_inner - 3| + 0.5 |agg.spatial_outer - 1|: a task-independent
                        guess of log2 cost (lower is better), used while the models have no
                        evidence (below)
    tile{k}.inner / .inner2 / .outer  the same per tile decision (first MAX_TILES of them)

The prior says: an innermost vector of about 8 floats on the contiguous axis, and few outermost
spatial iterations (on 2 cores, large fused parallel extents only add overhead). In 12 recorded
MetaSchedule traces on this machine's llvm target (128^3 matmul, a dense layer, two ResNet 3x3
convs, 64 trials each) the median latency was lowest for innermost factors of 4 to 16 and much
higher for 1-2 and for 32-64 (a linear "wider is better" prior steered the search into 64-wide
vectors), and lowest for outermost products of 1 to 4. Its Spearman rank correlation with
latency was 0.16 to 0.51 per task with no fitting, while P fitted on the first 16 rows of a
trace ranked the other traces at -0.07 to 0.18 on the convs.

`visible_matrix` lays them out as a fixed-length vector `[n_decisions, sketch, agg..., tile...,
v0, v1, ...]` (v = the decisions' values in trace order), padded with NaN (XGBoost's "missing")
to VISIBLE_WIDTH. Positions mean the same loop within one sketch; `sketch` lets trees split
on it.

Hidden features (Model A): MetaSchedule's `PerStoreFeature` (164 numbers per buffer store of the
scheduled, not yet built, TensorIR; no build needed) pooled over stores into a fixed-length
vector: mean (164), max (164) and the number of stores (1) — HIDDEN_WIDTH = 329.
"""
from __future__ import annotations

import re
import zlib

import numpy as np

AGGREGATES = ["spatial_inner", "spatial_reg", "spatial_outer", "spatial_outer2", "reduce_inner",
              "compute_tile", "unroll", "n_tiles", "last_inner", "prior"]
MAX_TILES = 12
PER_TILE = ["inner", "inner2", "outer"]
PRIOR_COLUMN = 2 + AGGREGATES.index("prior")     # agg.prior's position in the visible vector
N_DECISION_VALUES = 60
VISIBLE_WIDTH = 2 + len(AGGREGATES) + MAX_TILES * len(PER_TILE) + N_DECISION_VALUES
PER_STORE_WIDTH = 164          # PerStoreFeature().feature_vector_length with its defaults
HIDDEN_WIDTH = 2 * PER_STORE_WIDTH + 1

_SHORT = {"SamplePerfectTile": "tile", "SamplePartitionedTile": "tile",
          "SampleCategorical": "cat", "SampleComputeLocation": "loc"}
_DECISION_RE = re.compile(r",?\s*decision=(\[[^\]]*\]|[-0-9]+)")


def _trace(obj):
    """A Trace from a MeasureCandidate, a Schedule or a Trace."""
    if hasattr(obj, "sch"):
        obj = obj.sch
    if hasattr(obj, "trace"):
        obj = obj.trace
    return obj


def _ints(decision) -> list[int]:
    try:
        return [int(x) for x in decision]
    except TypeError:
        return [int(decision)]


def sketch_id(trace) -> int:
    """CRC of the trace's instructions (without decisions and postprocessing): which design space."""
    trace = _trace(trace)
    text = "\n".join(trace.as_python(remove_postproc=True))
    return zlib.crc32(_DECISION_RE.sub("", text).encode()) & 0xFFFFFF


def decisions(obj) -> list[tuple[str, list[float]]]:
    """[(name, values)] for each sampling instruction with a decision, in trace order."""
    trace = _trace(obj)
    dec = trace.decisions
    out = []
    for inst in trace.insts:
        if inst not in dec:
            continue
        kind = inst.kind.name
        d = dec[inst]
        if kind == "SampleCategorical":
            idx = int(d)
            cands = list(inst.attrs[0])
            try:
                vals = [float(cands[idx])]
            except (IndexError, TypeError, ValueError):
                vals = [float(idx)]
        else:
            vals = [float(v) for v in _ints(d)]
        out.append((_SHORT.get(kind, kind), vals))
    return out


def visible_features(obj, with_sketch: bool = True) -> dict:
    """The candidate's decisions as a flat dict of named numbers (what a trace record stores)."""
    feats: dict = {}
    for i, (short, vals) in enumerate(decisions(obj)):
        if short in ("cat", "loc") and len(vals) == 1:
            feats[f"d{i}.{short}"] = _num(vals[0])
        else:
            for j, v in enumerate(vals):
                feats[f"d{i}.{short}.{j}"] = _num(v)
    if with_sketch:
        feats["sketch"] = sketch_id(obj)
    return feats


def _num(v: float):
    return int(v) if float(v).is_integer() else float(v)


def derived_features(items) -> list[float]:
    """AGGREGATES then MAX_TILES x PER_TILE numbers from [(short kind, values)] decisions."""
    tiles = [np.log2(np.maximum(np.asarray(v, dtype=np.float64), 1.0))
             for k, v in items if k == "tile" and len(v) >= 1]
    cats = [v[0] for k, v in items if k == "cat" and v]
    longest = max((len(t) for t in tiles), default=0)
    spatial = [t for t in tiles if len(t) == longest and longest > 2]
    reduce_ = [t for t in tiles if len(t) < longest or longest <= 2]
    s_inner = sum(t[-1] for t in spatial)
    s_reg = sum(t[-2:].sum() for t in spatial)
    r_inner = sum(t[-1] for t in reduce_)
    s_outer = sum(t[0] for t in spatial)
    wide = [t for t in spatial if t.sum() > 0]
    last_inner = wide[-1][-1] if wide else np.nan
    agg = [s_inner, s_reg, s_outer, sum(t[:2].sum() for t in spatial),
           r_inner, s_reg + r_inner, float(cats[0]) if cats else np.nan, float(len(tiles)),
           last_inner, abs(last_inner - 3.0) + 0.5 * abs(s_outer - 1.0)]
    per = np.full(MAX_TILES * len(PER_TILE), np.nan)
    for k, t in enumerate(tiles[:MAX_TILES]):
        per[k * 3:k * 3 + 3] = [t[-1], t[-2:].sum(), t[0]]
    return [float(x) for x in agg] + per.tolist()


def vector_from_items(items, sketch: float, width: int = VISIBLE_WIDTH) -> np.ndarray:
    """The visible vector from [(short kind, values)] decisions in trace order and the sketch id
    (shared by the live candidates and by trace records, see trace_training)."""
    flat = [float(v) for _, vals in items for v in vals]
    head = [float(len(items)), float(sketch)] + derived_features(items)
    row = np.full(width, np.nan, dtype=np.float64)
    vals = (head + flat)[:width]
    row[:len(vals)] = vals
    return row


def visible_vector(obj, width: int = VISIBLE_WIDTH) -> np.ndarray:
    return vector_from_items(decisions(obj), sketch_id(obj), width)


def visible_matrix(candidates, width: int = VISIBLE_WIDTH) -> np.ndarray:
    """(n, width) visible features of MeasureCandidates / Schedules / Traces."""
    if len(candidates) == 0:
        return np.empty((0, width))
    return np.stack([visible_vector(c, width) for c in candidates])


def visible_names(width: int = VISIBLE_WIDTH) -> list[str]:
    names = (["n_decisions", "sketch"] + [f"agg.{a}" for a in AGGREGATES]
             + [f"tile{k}.{p}" for k in range(MAX_TILES) for p in PER_TILE])
    return (names + [f"v{i}" for i in range(width - len(names))])[:width]


_EXTRACTOR = None


def _extractor():
    global _EXTRACTOR
    if _EXTRACTOR is None:
        from ._env import require_tvm
        require_tvm()
        from tvm.s_tir.meta_schedule.feature_extractor import PerStoreFeature
        _EXTRACTOR = PerStoreFeature(extract_workload=False)
    return _EXTRACTOR


def pool_per_store(f: np.ndarray) -> np.ndarray:
    """(n_stores, 164) -> (329,): mean, max, n_stores."""
    out = np.zeros(HIDDEN_WIDTH, dtype=np.float64)
    if f.size:
        f = f.reshape(f.shape[0], -1)[:, :PER_STORE_WIDTH]
        out[:f.shape[1]] = f.mean(axis=0)
        out[PER_STORE_WIDTH:PER_STORE_WIDTH + f.shape[1]] = f.max(axis=0)
        out[-1] = f.shape[0]
    return out


def hidden_matrix(context, candidates, extractor=None) -> np.ndarray:
    """(n, HIDDEN_WIDTH) pooled PerStoreFeature of MeasureCandidates (needs their TuneContext)."""
    if len(candidates) == 0:
        return np.empty((0, HIDDEN_WIDTH))
    ext = extractor or _extractor()
    feats = ext.extract_from(context, list(candidates))
    return np.stack([pool_per_store(x.numpy()) for x in feats])


def hidden_names() -> list[str]:
    return ([f"store.mean.{i}" for i in range(PER_STORE_WIDTH)]
            + [f"store.max.{i}" for i in range(PER_STORE_WIDTH)] + ["store.count"])


def hidden_features(context, candidate) -> dict:
    """One candidate's pooled hidden features as a named dict (for trace records)."""
    row = hidden_matrix(context, [candidate])[0]
    return {n: float(v) for n, v in zip(hidden_names(), row)}
