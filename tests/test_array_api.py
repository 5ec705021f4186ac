"""Array-API support: sklearn's own array-API checks and namespace agreement.

The conftest sets ``SCIPY_ARRAY_API=1`` before SciPy is imported. These checks
run on the CPU with ``array_api_strict`` (and PyTorch on the CPU where it is
installed); the GPU namespaces are exercised in ``test_gpu.py`` (issue #4).
"""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.utils._array_api import yield_namespace_device_dtype_combinations
from sklearn.utils.estimator_checks import (
    check_array_api_input,
    check_array_api_input_and_values,
    check_array_api_same_namespace,
)

from skoptim import MLPClassifierPlus, SGDRegressorPlus, move_to

xp_strict = pytest.importorskip("array_api_strict")

ESTIMATORS = [
    SGDRegressorPlus(max_iter=20),
    SGDRegressorPlus(solver="adam", penalty="elasticnet", max_iter=20),
    SGDRegressorPlus(dropout=0.2, early_stopping=True, max_iter=20),
    MLPClassifierPlus(hidden_layer_sizes=(8,), max_iter=20),
    MLPClassifierPlus(hidden_layer_sizes=(8,), dropout=0.2, solver="adamw", max_iter=20),
    MLPClassifierPlus(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20),
]
COMBINATIONS = [
    c for c in yield_namespace_device_dtype_combinations()
    if c[0] in ("array_api_strict", "torch") and (c[1] in (None, "cpu", "CPU_DEVICE"))
]


def _ids(value):
    return str(value)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
@pytest.mark.parametrize("namespace, device, dtype", COMBINATIONS, ids=_ids)
def test_sklearn_array_api_input_check(estimator, namespace, device, dtype):
    check_array_api_input(type(estimator).__name__, estimator, array_namespace=namespace,
                          device_name=device, dtype_name=dtype)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_array_api_strict_fit_matches_numpy_fit(estimator):
    check_array_api_input_and_values(type(estimator).__name__, estimator,
                                     array_namespace="array_api_strict",
                                     check_sample_weight=True)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_predict_with_another_namespace_raises(estimator):
    check_array_api_same_namespace(type(estimator).__name__, estimator,
                                   array_namespace="array_api_strict")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_move_to_numpy_after_array_api_fit_gives_same_predictions():
    X = np.random.RandomState(0).rand(40, 5)
    y = X @ np.arange(1.0, 6.0)
    with sklearn.config_context(array_api_dispatch=True):
        est = SGDRegressorPlus(max_iter=30, random_state=0).fit(xp_strict.asarray(X),
                                                                xp_strict.asarray(y))
        pred_xp = est.predict(xp_strict.asarray(X))
        moved = move_to(clone(est).fit(xp_strict.asarray(X), xp_strict.asarray(y)), "numpy")
        assert isinstance(moved.coef_, np.ndarray)
        np.testing.assert_allclose(moved.predict(X), np.asarray(pred_xp), rtol=1e-12)
        with pytest.raises(ValueError, match="must use the same namespace"):
            est.predict(X)


def test_import_skoptim_imports_neither_cupy_nor_torch():
    """SPEC section 3: no eager GPU imports."""
    code = ("import sys, skoptim; bad = [m for m in ('cupy', 'torch') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None,
                    reason="CuPy is installed: device='cuda' is available")
def test_cuda_without_cupy_names_the_extra():
    X, y = np.eye(4), np.arange(4.0)
    with pytest.raises(ImportError, match=r'pip install "skoptim\[gpu\]"'):
        SGDRegressorPlus(device="cuda").fit(X, y)
