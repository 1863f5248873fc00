"""The surrogates are scikit-learn estimators: they pass scikit-learn's own estimator checks.

Skipped by scikit-learn itself: `check_array_api_input` (one per estimator), which needs
SCIPY_ARRAY_API=1 and an array-API library; the models convert input to NumPy for XGBoost.
"""
from sklearn.utils.estimator_checks import parametrize_with_checks

from ml2tuner.surrogates import AdvancedModel, PerformanceModel, ValidityModel


@parametrize_with_checks([ValidityModel(n_estimators=10), PerformanceModel(n_estimators=10),
                          AdvancedModel(n_estimators=10), AdvancedModel(n_estimators=10,
                                                                        offset_col=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
