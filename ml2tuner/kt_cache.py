"""Compatibility alias: exhaustive data (Kernel Tuner caches, exhaustive traces) lives in
`ml2tuner.data.exhaustive`.

`import ml2tuner.kt_cache` gives that very module object (so attributes and monkeypatches are
shared); new code imports `ml2tuner.data.exhaustive`.
"""
import sys

from .data import exhaustive as _module

sys.modules[__name__] = _module
