"""Paired bootstrap over spaces and repeats: how sure an improvement of one setting is."""
from __future__ import annotations

import numpy as np


def bootstrap_improvement(new, old, n_boot: int = 4000, seed: int = 0,
                          level: float = 0.95) -> dict:
    """new, old: scores (spaces x repeats) of two settings on the same (space, seed) pairs.

    Two-stage resampling: spaces with replacement, then repeats with replacement within each
    drawn space, keeping pairs together. Returns the point estimates and percentile
    confidence intervals of the mean difference, of the relative improvement
    100 * (mean new - mean old) / |mean old| and of the gap closed
    100 * (mean new - mean old) / (1 - mean old): for a score whose best value is 1 (P), the
    share of old's distance to the best that new closes (defined however close old is to 0)."""
    new, old = np.asarray(new, dtype=float), np.asarray(old, dtype=float)
    if new.shape != old.shape or new.ndim != 2 or new.size == 0:
        raise ValueError("new and old must be non-empty (spaces x repeats) arrays of one shape")
    s, r = new.shape
    rng = np.random.default_rng(seed)
    si = rng.integers(0, s, (n_boot, s))[:, :, None]
    ri = rng.integers(0, r, (n_boot, s, r))
    mn, mo = new[si, ri].mean(axis=(1, 2)), old[si, ri].mean(axis=(1, 2))
    lo, hi = 50 * (1 - level), 50 * (1 + level)

    def rel(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b != 0, 100.0 * (a - b) / np.abs(b), np.nan)
    rel_b = rel(mn, mo)

    def gap(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b < 1, 100.0 * (a - b) / (1.0 - b), np.nan)
    gap_b = gap(mn, mo)
    return {"new": float(new.mean()), "old": float(old.mean()),
            "diff": float(new.mean() - old.mean()),
            "diff_ci": [float(np.percentile(mn - mo, lo)), float(np.percentile(mn - mo, hi))],
            "pct": float(rel(new.mean(), old.mean())),
            "pct_ci": _ci(rel_b, lo, hi),
            "gap": float(gap(new.mean(), old.mean())), "gap_ci": _ci(gap_b, lo, hi),
            "level": level, "n_boot": int(n_boot)}


def _ci(samples, lo, hi) -> list[float]:
    """Percentile interval of the defined (non-nan) bootstrap samples; nan if none is."""
    s = samples[np.isfinite(samples)]
    return [float(np.percentile(s, lo)), float(np.percentile(s, hi))] if s.size else \
        [float("nan")] * 2


__all__ = ["bootstrap_improvement"]
