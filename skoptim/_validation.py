"""Input checks: the one wrapper around scikit-learn's validation helpers."""

# SPDX-License-Identifier: BSD-3-Clause

import functools
import math
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.base import BaseEstimator
from sklearn.utils._array_api import get_namespace_and_device
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from skoptim._backend import is_numpy_namespace, is_sparse, namespace_name, to_numpy


@functools.cache
def _param_names(cls):
    return tuple(BaseEstimator._get_param_names.__func__(cls))


class CachedParamNames:
    """``BaseEstimator._get_param_names`` read once a class (a mixin placed
    before ``BaseEstimator``): ``get_params`` inspects the constructor's
    signature at every call (about 25 us), and a fit calls it several times
    (parameter validation, the optimizer's and the schedule's checks)."""

    @classmethod
    def _get_param_names(cls):
        return list(_param_names(cls))


def check_X_y(estimator, X, y, *, reset, backend, multi_output, y_numeric,
              accept_sparse=("csr", "csc")):
    """Validate training data and move it to ``backend``; float dtype of X kept."""
    kind = getattr(getattr(y, "dtype", None), "kind", None)
    if y_numeric and kind in ("U", "S", "O"):
        y_host = np.asarray(to_numpy(y))
        if kind != "O" or not all(isinstance(v, numbers.Real) for v in y_host.ravel()):
            raise ValueError(
                f"y must be numeric for regression; got values of dtype {y_host.dtype} "
                f"such as {y_host.ravel()[:1]!r}."
            )
    if _on_device_without_dispatch(X):
        X = _check_device_X(estimator, X, reset=reset)
        y = _check_device_y(y, X.shape[0], y_numeric=y_numeric)
    else:
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
    if is_sparse(X) and X.format != "csr":
        X = X.tocsr()
    return backend.move_input(X), (backend.move(y) if y_numeric else y)


def check_X(estimator, X, *, backend, accept_sparse=("csr", "csc")):
    """Validate prediction data against the fitted ``n_features_in_``."""
    check_is_fitted(estimator)
    if _on_device_without_dispatch(X):
        return backend.move_input(_check_device_X(estimator, X, reset=False))
    X = validate_data(
        estimator,
        X,
        reset=False,
        accept_sparse=accept_sparse,
        dtype=[backend.xp.float64, backend.xp.float32],
    )
    return backend.move_input(X)


def _on_device_without_dispatch(X):
    """CuPy input while scikit-learn's array-API dispatch is off.

    scikit-learn's validation would then convert it to NumPy (and refuse),
    so skoptim checks it on its device instead.
    """
    return type(X).__module__.split(".")[0] in ("cupy", "cupyx") and not get_config()[
        "array_api_dispatch"]


def _check_device_X(estimator, X, *, reset):  # pragma: no cover - GPU only
    """scikit-learn's checks on a CuPy array, without leaving the device."""
    from array_api_compat import array_namespace

    if is_sparse(X):
        X = X.tocsr()
        values = X.data
    else:
        if X.ndim != 2:
            raise ValueError(f"Expected a 2D array, got a {X.ndim}D array instead.")
        values = X
    xp = array_namespace(values)
    if X.shape[0] < 1:
        raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a "
                         "minimum of 1 is required.")
    kind = values.dtype.kind
    if kind == "c":
        raise ValueError("Complex data not supported.")
    if kind not in "f":
        X = X.astype(xp.float64)
        values = X.data if is_sparse(X) else X
    if not bool(xp.all(xp.isfinite(values))):
        raise ValueError("Input X contains NaN or infinity.")
    if reset:
        estimator.n_features_in_ = X.shape[1]
    elif X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return X


def _check_device_y(y, n_samples, *, y_numeric):  # pragma: no cover - GPU only
    """Length, shape and finiteness of targets given with CuPy input."""
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None.")
    if not hasattr(y, "shape"):
        y = np.asarray(y)
    if y.ndim not in (1, 2) or y.shape[0] != n_samples:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: "
            f"[{n_samples}, {y.shape[0]}]")
    if y_numeric:
        from array_api_compat import array_namespace

        xp = array_namespace(y)
        if y.dtype.kind not in "f":
            y = xp.astype(y, xp.float64)
        if not bool(xp.all(xp.isfinite(y))):
            raise ValueError("Input y contains NaN or infinity.")
    return y


def check_sample_weight(sample_weight, X, dtype, *, xp=None, allow_all_zero=False):
    """Validated, finite, non-negative sample weights (or None for all ones);
    ``allow_all_zero`` leaves a vector of zeros to the caller's own error."""
    if sample_weight is None:
        return None
    if _on_device_without_dispatch(X):  # pragma: no cover - GPU only
        from skoptim._backend import resolve_backend

        sw = _check_sample_weight(to_numpy(sample_weight), np.empty((X.shape[0], 0)),
                                  dtype=np.float64, ensure_non_negative=True)
        if not np.all(np.isfinite(sw)) or not np.any(sw > 0):
            raise ValueError("sample_weight must be finite with a positive entry.")
        return resolve_backend(X).asarray(sw, dtype=dtype)
    if not isinstance(sample_weight, numbers.Number) and hasattr(X, "shape"):
        from skoptim._backend import resolve_backend

        if hasattr(sample_weight, "shape") and not sp.issparse(X):
            sample_weight = resolve_backend(X).move(sample_weight)
    try:
        with np.errstate(over="ignore"):
            sw = _check_sample_weight(sample_weight, X, dtype=dtype,
                                      ensure_non_negative=True,
                                      allow_all_zero_weights=allow_all_zero)
    except (TypeError, ValueError) as exc:
        if "sample_weight" in str(exc) or "sample weight" in str(exc).lower():
            raise
        raise type(exc)(f"sample_weight could not be used: {exc}") from exc
    sw_host = to_numpy(sw)
    if not np.all(np.isfinite(sw_host)):
        raise ValueError("sample_weight must be finite; it contains NaN or inf.")
    if not np.any(sw_host > 0) and not allow_all_zero:
        raise ValueError("sample_weight must have at least one positive entry.")
    with np.errstate(over="ignore"):
        total = np.sum(sw_host, dtype=np.float64)
    if not np.isfinite(total):
        raise ValueError(
            "sample_weight sums to inf; divide the weights by a constant (only their "
            "ratios matter)."
        )
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


def check_class_weight(class_weight, *, incremental):
    """``class_weight`` with its values checked: real, finite, non-negative and
    not all zero (a ``TypeError``/``ValueError`` naming it otherwise).
    ``'balanced'`` is refused by ``partial_fit``, as scikit-learn's
    ``SGDClassifier`` refuses it: one call's labels do not tell the class
    frequencies of the whole data."""
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if incremental:
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit. In order to "
                "use 'balanced' weights, use compute_class_weight('balanced', "
                "classes=classes, y=y). In place of y you can use a large enough "
                "sample of the full training set target to properly estimate the class "
                "frequency distributions. Pass the resulting weights as the "
                "class_weight parameter."
            )
        return class_weight
    for label, weight in class_weight.items():
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise TypeError(
                f"class_weight values must be real numbers; got {weight!r} for class "
                f"{label!r}."
            )
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(
                f"class_weight values must be finite and non-negative; got {weight!r} "
                f"for class {label!r}."
            )
    if class_weight and not any(weight > 0 for weight in class_weight.values()):
        raise ValueError("class_weight gives every class a weight of 0.")
    return class_weight
