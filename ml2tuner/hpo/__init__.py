"""Hyperparameter optimisation of the tuner itself: performance score, meta-strategies, HPO loop."""
