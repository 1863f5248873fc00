"""Task descriptors: the numbers that tell one tuning task from another (layer shape,
accelerator parameters), the conditioning columns of cross-task models and of the copula prior."""
from __future__ import annotations

from pathlib import Path

from .traces import iter_records


def task_descriptor(task) -> dict:
    """The numeric task descriptor of `task`: a dict (returned as is), a trace path (its
    header's `descriptor`) or a measurer (its `descriptor()`)."""
    if task is None:
        return {}
    if isinstance(task, dict):
        return dict(task)
    if isinstance(task, (str, Path)):
        for _, rec in iter_records(task):
            return dict(rec.get("descriptor") or {}) if rec.get("record") == "header" else {}
        return {}
    if hasattr(task, "descriptor"):         # a measurer knows its own task
        return dict(task.descriptor())
    return {}


__all__ = ["task_descriptor"]
