"""ml2tuner: sample-efficient code tuning for deep-learning accelerators with multi-level ML."""

__version__ = "0.1.0"
