"""Heads: what a model's output means (link, loss and its gradient, score,
labels).

A head turns the model's raw output ``z`` into a per-sample loss and its
derivative in ``z`` (:meth:`loss`), per-element weights (one-vs-rest class
weights, :meth:`element_weights`), a validation :meth:`score` and
predictions; the estimator-side mixins prepare the targets it reads.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skoptim.heads._classification import (
    ClassifierTaskMixin,
    MarginHead,
    SoftmaxHead,
    one_hot,
    sigmoid,
)
from skoptim.heads._losses import MARGIN_LOSSES, REGRESSION_LOSSES, make_loss
from skoptim.heads._regression import RegressionHead, RegressorTaskMixin, r2

__all__ = [
    "MARGIN_LOSSES",
    "REGRESSION_LOSSES",
    "ClassifierTaskMixin",
    "MarginHead",
    "RegressionHead",
    "RegressorTaskMixin",
    "SoftmaxHead",
    "make_loss",
    "one_hot",
    "r2",
    "sigmoid",
]
