"""AutoTVM-style tuning callbacks: called as cb(tuner, result) after every measurement."""
from __future__ import annotations

import math

from ..measure import MeasureResult
from ..data.traces import TraceWriter


class ProgressBar:
    """A tqdm bar showing current and best GFLOPS (or cost) and the invalid count."""

    def __init__(self, total: int, initial: int = 0, desc: str = "tuning", disable=None):
        from tqdm import tqdm
        self.bar = tqdm(total=total, initial=initial, desc=desc, unit="trial", disable=disable)
        self.best = math.inf
        self.best_gflops = None
        self.invalid = 0

    def seed_with(self, results):
        for r in results:
            self._account(r)

    def _account(self, r: MeasureResult):
        if not r.valid:
            self.invalid += 1
        elif r.cost < self.best:
            self.best, self.best_gflops = r.cost, r.gflops

    def __call__(self, tuner, r: MeasureResult):
        self._account(r)
        cur = f"{r.gflops:.2f}" if r.valid and r.gflops is not None else r.status.value
        best = f"{self.best_gflops:.2f}" if self.best_gflops is not None else (
            f"{self.best:.3g}s" if math.isfinite(self.best) else "-")
        self.bar.set_postfix_str(f"cur {cur} best {best} GFLOPS  invalid {self.invalid}")
        self.bar.update(1)

    def close(self):
        self.bar.close()


class LogToFile:
    """Appends every measurement to a trace (flushed and fsynced before the next one)."""

    def __init__(self, writer: TraceWriter, **extra):
        self.writer, self.extra = writer, extra

    def __call__(self, tuner, r: MeasureResult):
        self.writer.append(r, tuner=tuner.name, **self.extra)


def plot_suffixes() -> set:
    """The image file suffixes matplotlib can write (for checking a plot path up front)."""
    from matplotlib.backend_bases import FigureCanvasBase
    return {f".{k}" for k in FigureCanvasBase.get_supported_filetypes()}


def plot_convergence(results, path, title: str = "", peak: float | None = None):
    """Best-so-far GFLOPS (or 1/cost) against trials, failed trials marked; saved as PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    perf = np.array([(r.gflops if r.gflops is not None else 1 / r.cost) if r.valid else np.nan
                     for r in results])
    best = np.fmax.accumulate(np.nan_to_num(perf, nan=0.0))
    x = np.arange(1, len(results) + 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(x, best, label="best so far")
    ax.scatter(x, perf, s=6, alpha=0.5, label="measured")
    bad = np.flatnonzero(np.isnan(perf))
    ax.scatter(bad + 1, np.zeros_like(bad, dtype=float), s=6, marker="x", color="red",
               label=f"invalid ({len(bad)})")
    if peak:
        ax.axhline(peak, ls="--", color="gray", label="peak")
    ax.set_xlabel("trial")
    ax.set_ylabel("GFLOPS")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    from pathlib import Path
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
