"""scikit-learn's estimator checks on default and non-default configurations.

No expected failures: sample weights act as repetitions in every
configuration listed here, dropout and early stopping included (issue #2, #3).
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skoptim import MLPClassifierPlus, SGDRegressorPlus
from skoptim.optim import Adam, CosineDecay

ESTIMATORS = [
    SGDRegressorPlus(),
    SGDRegressorPlus(solver="adam", learning_rate="constant"),
    SGDRegressorPlus(solver=Adam(beta_1=0.8), eta0=0.05),
    SGDRegressorPlus(batch_size=512, learning_rate="cosine"),
    SGDRegressorPlus(penalty="elasticnet", l1_ratio=0.5, alpha=1e-3),
    SGDRegressorPlus(dropout=0.2),
    SGDRegressorPlus(early_stopping=True),
    # Sample weights equal repetitions only for whole-batch steps, and
    # averaging picks small batches by default.
    SGDRegressorPlus(average=True, solver="momentum", batch_size=512),
    MLPClassifierPlus(),
    MLPClassifierPlus(solver="adamw", learning_rate_init=0.01),
    MLPClassifierPlus(dropout=0.3),
    MLPClassifierPlus(penalty="l1", alpha=1e-3),
    MLPClassifierPlus(early_stopping=True, learning_rate_init=0.01),
    MLPClassifierPlus(solver="lbfgs"),
    MLPClassifierPlus(solver="sgd", learning_rate=CosineDecay(warmup_steps=5)),
    MLPClassifierPlus(hidden_layer_sizes=(8, 8), activation="tanh", solver="rmsprop"),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
