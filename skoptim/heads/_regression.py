"""The regression head, and what a regressor does with its targets."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

import numpy as np
from sklearn.exceptions import DataConversionWarning

from skoptim._backend import to_numpy
from skoptim._validation import check_X_y


class RegressionHead:
    """Real targets: a loss of the raw output, its inverse link and R².

    Parameters
    ----------
    loss : loss object of :mod:`skoptim.heads._losses`
        The per-element loss of the raw output ``z`` and the target.
    output_mean : bool
        Report the loss averaged over the outputs instead of summed (the
        gradient still sums them), as scikit-learn's ``MLPRegressor`` does for
        the squared error.
    xp : namespace
    """

    def __init__(self, loss, *, xp, output_mean=False):
        self.loss_fn, self.xp, self.output_mean = loss, xp, output_mean
        self.curvature = loss.curvature
        self.dloss = loss.dloss

    def loss(self, z, y):
        """``(value, dz)`` elementwise: the loss and its derivative in ``z``."""
        value, dz = self.loss_fn.value_and_derivative(z, y, xp=self.xp)
        if self.output_mean and z.shape[1] > 1:
            value = value / z.shape[1]
        return value, dz

    def element_weights(self, y):
        return None

    def predict(self, z):
        """The prediction for the raw output (``exp`` under the log link)."""
        return self.xp.exp(z) if self.loss_fn.name == "poisson" else z

    def score(self, z, y, sample_weight):
        return r2(y, self.predict(z), sample_weight, xp=self.xp)


def r2(y, pred, sample_weight, *, xp):
    """Weighted R² averaged uniformly over outputs, as a Python float."""
    if sample_weight is None:
        total = y.shape[0]
        mean = xp.sum(y, axis=0) / total
        ss_res = xp.sum((y - pred) ** 2, axis=0)
        ss_tot = xp.sum((y - mean) ** 2, axis=0)
    else:
        w = xp.reshape(sample_weight, (-1, 1))
        total = xp.sum(sample_weight)
        mean = xp.sum(w * y, axis=0) / total
        ss_res = xp.sum(w * (y - pred) ** 2, axis=0)
        ss_tot = xp.sum(w * (y - mean) ** 2, axis=0)
    ss_res = to_numpy(ss_res).astype(np.float64)
    ss_tot = to_numpy(ss_tot).astype(np.float64)
    scores = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                      np.where(ss_res > 0, 0.0, 1.0))
    return float(np.mean(scores))


class RegressorTaskMixin:
    """What every skoptim regressor does with ``y``: numeric, finite in X's
    dtype, one or several targets (``(n,)`` targets give 1-D predictions)."""

    _stratify_validation = False

    def _check_train_data(self, X, y, *, reset, backend, classes, incremental,
                          validation=False):
        X, y = check_X_y(self, X, y, reset=reset, backend=backend, multi_output=True,
                         y_numeric=True)
        xp = backend.xp
        if backend.is_numpy:
            with np.errstate(over="ignore"):
                y = np.asarray(y, dtype=X.dtype)
            if not np.all(np.isfinite(y)):
                raise ValueError(
                    "Input y contains NaN or infinity"
                    + (" once cast to X's float32 (scale y, or pass float64 X)."
                       if X.dtype == np.float32 else "."))
        else:
            y = xp.astype(y, backend.dtype)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please "
                "change the shape of y to (n_samples, ), for example using ravel().",
                DataConversionWarning, stacklevel=4,
            )
            y = xp.reshape(y, (-1,))
        if not validation and (reset or not hasattr(self, "_single_output")):
            self._single_output = y.ndim == 1
        if y.ndim == 1:
            y = xp.reshape(y, (-1, 1))
        self._check_targets(y, reset=reset, validation=validation)
        return X, y

    def _check_targets(self, y, *, reset, validation):
        """Refuse targets the fitted model cannot continue with."""
        fitted = self._n_fitted_outputs() if not (reset or validation) else None
        if fitted is not None and y.shape[1] != fitted:
            raise ValueError(
                f"y has {y.shape[1]} targets but this estimator was fitted with "
                f"{fitted}."
            )

    def _callback_target(self, y):
        return y[:, 0] if self._single_output else y
