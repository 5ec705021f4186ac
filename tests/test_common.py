"""scikit-learn's estimator checks on default and non-default configurations."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skoptim import SGDRegressorPlus
from skoptim.optim import Adam

ESTIMATORS = [
    SGDRegressorPlus(),
    SGDRegressorPlus(solver="adam", learning_rate="constant"),
    SGDRegressorPlus(solver=Adam(beta_1=0.8), eta0=0.05),
    SGDRegressorPlus(batch_size=512, learning_rate="cosine"),
    SGDRegressorPlus(penalty="elasticnet", l1_ratio=0.5, alpha=1e-3),
    SGDRegressorPlus(dropout=0.2),
    SGDRegressorPlus(early_stopping=True),
    SGDRegressorPlus(average=True, solver="momentum"),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
