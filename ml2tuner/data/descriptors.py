"""Task descriptors: the numbers that tell one tuning task from another (layer shape,
accelerator parameters), the conditioning columns of cross-task models and of the copula prior."""
from __future__ import annotations

from pathlib import Path

from .traces import iter_records


def task_descriptor(task) -> dict:
    """The numeric task descriptor of `task`: a dict (returned as is), a trace path (its
    header's `descriptor`), a measurer whose `describe()` has one (AccelMeasurer), or a
    ReplayMeasurer of an ml2tuner trace (rebuilt from the recorded accelerator and workload)."""
    if task is None:
        return {}
    if isinstance(task, dict):
        return dict(task)
    if isinstance(task, (str, Path)):
        for _, rec in iter_records(task):
            return dict(rec.get("descriptor") or {}) if rec.get("record") == "header" else {}
        return {}
    desc = task.describe().get("descriptor") if hasattr(task, "describe") else None
    if desc:
        return dict(desc)
    meta = getattr(getattr(task, "data", None), "meta", None) or {}
    if isinstance(meta.get("accel"), dict) and meta.get("workload"):
        from ..accel.hardware import hardware_from_dict
        from ..accel.workloads import parse_workload
        return {**hardware_from_dict(meta["accel"]).descriptor(),
                **parse_workload(meta["workload"]).descriptor()}
    return {}


__all__ = ["task_descriptor"]
