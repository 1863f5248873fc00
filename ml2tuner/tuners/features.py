"""AutoTVM-style 'itervar' features for the TVM-like baseline.

AutoTVM's default XGBTuner features are read from the lowered loop nest of each configuration
(loop extents, buffer touches), log-scaled, with a zero row for a configuration whose lowering
fails. Our compiler's counterpart is the program's compile-time loop and buffer features (the
same `hidden_features` that Model A reads). Getting them compiles the configuration, so the
measurer charges that compile to the run's clock, as it does for ML2Tuner's hidden features.
Without a compiler (replayed data that does not record hidden features) the knob values stand in.
The `static_*` features (ml2tuner's static cost analysis: each module's summed instruction
cycles and the run-time bound) go beyond AutoTVM's loop-nest features and are left out, so the
baseline is not given a cost model AutoTVM does not have.
"""
from __future__ import annotations

import numpy as np

STATIC_PREFIX = "static_"


class ItervarFeatures:
    def __init__(self, space):
        self.space = space
        self.names: list[str] | None = None
        self.rows: dict[int, np.ndarray | None] = {}    # None: compiling failed (zero row)

    def __call__(self, measurer, idx) -> np.ndarray:
        idx = [int(i) for i in np.atleast_1d(idx)]
        if measurer is None or not measurer.has_compiler:
            return self.space.features(idx)
        need = [i for i in dict.fromkeys(idx) if i not in self.rows]
        if need:
            for i, h in zip(need, measurer.hidden_features(need)):
                if h is not None and self.names is None:
                    self.names = sorted(k for k in h if not k.startswith(STATIC_PREFIX))
                self.rows[i] = None if h is None else np.log2(1.0 + np.abs(np.array(
                    [h.get(k, 0.0) for k in self.names], dtype=np.float64)))
        if self.names is None:                 # nothing compiled yet: all rows are zero
            return np.zeros((len(idx), 1))
        zero = np.zeros(len(self.names))
        return np.array([zero if self.rows[i] is None else self.rows[i] for i in idx])
