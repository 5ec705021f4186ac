"""Linear models trained by stochastic optimization."""

# SPDX-License-Identifier: BSD-3-Clause

from skoptim.linear_model._sgd import SGDRegressorPlus
from skoptim.linear_model._sgd_classifier import SGDClassifierPlus

__all__ = ["SGDClassifierPlus", "SGDRegressorPlus"]
