"""Linear models trained on the shared engine."""

from skoptim.linear_model._sgd import SGDRegressorPlus

__all__ = ["SGDRegressorPlus"]
