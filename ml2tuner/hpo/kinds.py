"""One hyperparameter setting per kind of layer: 1x1 and KxK convolutions.

On the VTA spaces a single setting for every layer helps the 1x1 layers and hurts the 3x3 ones
(a 1x1 layer's space is small and mostly valid; a 3x3 layer's is larger and mostly invalid), so
`hpo_per_kind` runs one search per kind, each on that kind's training layers and with the
same number of full evaluations (so the runs split in proportion to the training spaces), and
pools the held-out runs of both into one paired bootstrap. The kernel size is known before
tuning, so `tune --hp-file` and `replay --hp-file` pick the setting of the workload's kind.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UserError

KINDS = ("1x1", "KxK")


def workload_kind(workload) -> str:
    """'1x1' or 'KxK' of an accelerator workload (a spec string or a `Conv2D`); a dense layer
    runs as a 1x1 convolution, so it counts as 1x1."""
    from ..accel.workloads import parse_workload
    return "1x1" if parse_workload(workload).K == 1 else "KxK"


def space_kind(path) -> str | None:
    """The kind of the layer an ml2tuner trace was recorded on (its header's workload); None
    for a Kernel Tuner cache or a trace without a workload."""
    from ..data.traces import iter_records
    name = Path(path).name
    if not (name.endswith(".jsonl") or name.endswith(".jsonl.gz")):
        return None
    _, header = next(iter_records(path))
    wl = header.get("workload")
    return workload_kind(wl) if wl else None


def group_by_kind(train, test) -> dict[str, tuple[list, list]]:
    """{kind: (training spaces, held-out spaces)} for the kinds that have training spaces;
    a space of no known kind, or a kind with held-out spaces and no training ones, is an
    error."""
    kinds = {}
    for p in list(train) + list(test):
        k = space_kind(p)
        if k is None:
            raise UserError(f"{p}: one setting per kind of layer needs ml2tuner traces of "
                            "accelerator layers (their header names the workload); a Kernel "
                            "Tuner cache has no kind of layer")
        kinds[str(p)] = k
    out = {}
    for k in KINDS:
        tr = [p for p in train if kinds[str(p)] == k]
        te = [p for p in test if kinds[str(p)] == k]
        if te and not tr:
            raise UserError(f"held-out {k} layers ({', '.join(map(str, te))}) but no {k} "
                            "training layer to configure them on")
        if tr and not te:
            raise UserError(f"{k} training layers but no held-out {k} layer to check the "
                            "setting on")
        if tr:
            out[k] = (tr, te)
    return out


def hpo_per_kind(tuner_name: str, train_spaces, test_spaces, out_dir=None, **kw) -> dict:
    """`meta.hpo` once per kind of layer (its results under out_dir/KIND), the held-out runs
    pooled into one paired bootstrap per axis, and one settings file, out_dir/settings.json,
    holding each kind's chosen setting (the defaults where its search did not win)."""
    from ..hparams import save_settings
    from ..tuners import TUNERS
    from .meta import hpo
    from .stats import bootstrap_improvement
    groups = group_by_kind(train_spaces, test_spaces)
    kinds = {}
    for k, (tr, te) in groups.items():
        kinds[k] = hpo(tuner_name, tr, te, out_dir=None if out_dir is None
                       else Path(out_dir) / k, **kw)
    pooled = {}
    for label, new, old in (("final", "final", "defaults"), ("raw", "final_raw",
                                                              "defaults_raw")):
        pooled[label] = {}
        for ax in ("samples", "time", "both"):
            m_new, m_old = (np.array([row for d in kinds.values()
                                      for row in d["test_runs"][name][ax]], dtype=float)
                            for name in (new, old))
            pooled[label][ax] = (None if np.isnan(m_new).any() or np.isnan(m_old).any()
                                 else bootstrap_improvement(m_new, m_old,
                                                            seed=kw.get("seed", 0)))
    summary = {"tuner": tuner_name, "per_kind": True, "kinds": kinds,
               "pooled_vs_defaults": pooled["final"], "pooled_vs_defaults_raw": pooled["raw"],
               "axis": kw.get("axis", "time"),
               "pooled_spaces": sum(len(d["test"]) for d in kinds.values()),
               "pooled_repeats": next(iter(kinds.values()))["test_repeats"]}
    if out_dir is not None:
        table = TUNERS[tuner_name].HYPERPARAMETERS
        by_kind = {k: {**{n: h.default for n, h in table.items()}, **d["final_hparams"]}
                   for k, d in kinds.items()}
        path = Path(out_dir) / "settings.json"
        save_settings(path, tuner_name, {}, by_kernel=by_kind,
                      tuned={k: d["kept"] for k, d in kinds.items()})
        summary["settings"] = str(path)
    return summary


__all__ = ["KINDS", "workload_kind", "space_kind", "group_by_kind", "hpo_per_kind"]
