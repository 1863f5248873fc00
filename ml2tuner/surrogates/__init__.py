"""The three surrogate models of ML2Tuner, scikit-learn-compatible estimators on XGBoost.

* `ValidityModel` (Model V): classifier, visible features -> probability that a config is valid.
* `PerformanceModel` (Model P): regressor on visible features of valid configs -> log cost.
* `AdvancedModel` (Model A): the same regressor on visible + hidden (compilation) features.
"""
from .models import OFFSET_FEATURE, AdvancedModel, PerformanceModel, ValidityModel, offset_column

__all__ = ["ValidityModel", "PerformanceModel", "AdvancedModel", "OFFSET_FEATURE", "offset_column"]
