"""Compatibility alias: trace reading and writing lives in `ml2tuner.data.traces`.

`import ml2tuner.traces` gives that very module object (so attributes and monkeypatches are
shared); new code imports `ml2tuner.data.traces`.
"""
import sys

from .data import traces as _module

sys.modules[__name__] = _module
