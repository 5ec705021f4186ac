"""Input checks: the one wrapper around scikit-learn's validation helpers."""

# SPDX-License-Identifier: BSD-3-Clause

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.utils._array_api import get_namespace_and_device
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from skoptim._backend import is_numpy_namespace, namespace_name, to_numpy

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
    return X, backend.move(y)


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
    if not isinstance(sample_weight, numbers.Number) and hasattr(X, "shape"):
        from skoptim._backend import resolve_backend

        if hasattr(sample_weight, "shape") and not sp.issparse(X):
            sample_weight = resolve_backend(X).move(sample_weight)
    sw = _check_sample_weight(sample_weight, X, dtype=dtype, ensure_non_negative=True)
    sw_host = to_numpy(sw)
    if not np.all(np.isfinite(sw_host)):
        raise ValueError("sample_weight must be finite; it contains NaN or inf.")
    if not np.any(sw_host > 0):
        raise ValueError("sample_weight must have at least one positive entry.")
    return sw


def check_same_namespace(X, reference, estimator, method):
    """Raise when ``X`` is not in the namespace and device of the fitted arrays.

    Only active with ``sklearn.config_context(array_api_dispatch=True)``, as
    in scikit-learn; NumPy, lists and SciPy sparse input count as NumPy.
    """
    if not get_config()["array_api_dispatch"]:
        return
    a_xp, _, a_dev = get_namespace_and_device(reference)
    X_xp, _, X_dev = get_namespace_and_device(X)
    if (a_xp == X_xp and a_dev == X_dev) or (
        is_numpy_namespace(a_xp) and is_numpy_namespace(X_xp)
    ):
        return
    raise ValueError(
        f"Inputs passed to {type(estimator).__name__}.{method}() must use the same "
        "namespace and the same device as those passed to fit(): the model was "
        f"fitted on {namespace_name(a_xp)} ({a_dev}) arrays and got "
        f"{namespace_name(X_xp)} ({X_dev}). Move the estimator first with "
        "skoptim.move_to(estimator, ...), or pass data of the fitted namespace."
    )
