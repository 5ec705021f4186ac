"""Input checks: the one wrapper around scikit-learn's validation helpers."""

# SPDX-License-Identifier: BSD-3-Clause

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from skoptim._backend import namespace_name, to_numpy

# Constraints shared by every skoptim estimator (the new parameters).
COMMON_CONSTRAINTS = {
    "dropout": [Interval(numbers.Real, 0.0, 1.0, closed="left")],
    "device": [StrOptions({"auto", "cpu", "cuda"}), str],
}


def check_X_y(estimator, X, y, *, reset, backend, multi_output, y_numeric,
              accept_sparse=("csr", "csc")):
    """Validate training data and move it to ``backend``; float dtype of X kept."""
    X, y = validate_data(
        estimator,
        X,
        y,
        reset=reset,
        accept_sparse=accept_sparse,
        dtype=[backend.xp.float64, backend.xp.float32],
        multi_output=multi_output,
        y_numeric=y_numeric,
        order="C",
    )
    if sp.issparse(X) and X.format not in ("csr",):
        X = X.tocsr()
    return X, y


def check_X(estimator, X, *, backend, accept_sparse=("csr", "csc")):
    """Validate prediction data against the fitted ``n_features_in_``."""
    check_is_fitted(estimator)
    X = validate_data(
        estimator,
        X,
        reset=False,
        accept_sparse=accept_sparse,
        dtype=[backend.xp.float64, backend.xp.float32],
    )
    return X


def check_sample_weight(sample_weight, X, dtype, *, xp=None):
    """Validated, finite, non-negative sample weights (or None for all ones)."""
    if sample_weight is None:
        return None
    sw = _check_sample_weight(sample_weight, X, dtype=dtype, ensure_non_negative=True)
    sw_host = to_numpy(sw)
    if not np.all(np.isfinite(sw_host)):
        raise ValueError("sample_weight must be finite; it contains NaN or inf.")
    if not np.any(sw_host > 0):
        raise ValueError("sample_weight must have at least one positive entry.")
    return sw


def check_same_namespace(fitted_xp, xp, estimator):
    """Raise when predicting with input from another namespace than fit's."""
    if fitted_xp is not None and namespace_name(fitted_xp) != namespace_name(xp):
        raise ValueError(
            f"{type(estimator).__name__} was fitted on {namespace_name(fitted_xp)} "
            f"arrays but predict received {namespace_name(xp)} arrays. Move the "
            "estimator first, e.g. skoptim.move_to(estimator, 'numpy'), or pass "
            f"{namespace_name(fitted_xp)} input."
        )
