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
from sklearn.base import clone, is_classifier
from sklearn.utils._array_api import yield_namespace_device_dtype_combinations
from sklearn.utils.estimator_checks import (
    check_array_api_input,
    check_array_api_input_and_values,
    check_array_api_same_namespace,
)

from skoptim import (
    MLPClassifierPlus,
    MLPRegressorPlus,
    SGDClassifierPlus,
    SGDRegressorPlus,
    move_to,
)
from skoptim._backend import to_numpy
from skoptim.optim import Adam

xp_strict = pytest.importorskip("array_api_strict")

ESTIMATORS = [
    SGDRegressorPlus(max_iter=20),
    SGDRegressorPlus(solver="adam", penalty="elasticnet", max_iter=20),
    SGDRegressorPlus(dropout=0.2, early_stopping=True, max_iter=20),
    MLPClassifierPlus(hidden_layer_sizes=(8,), max_iter=20),
    MLPClassifierPlus(hidden_layer_sizes=(8,), dropout=0.2, solver="adamw", max_iter=20),
    MLPClassifierPlus(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20),
    SGDClassifierPlus(max_iter=20),
    SGDClassifierPlus(loss="log_loss", solver="adam", class_weight="balanced", max_iter=20),
    MLPRegressorPlus(hidden_layer_sizes=(8,), max_iter=20),
    MLPRegressorPlus(hidden_layer_sizes=(8,), loss="quantile", dropout=0.2, max_iter=20),
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


# ---------------------------------------------------------------------------
# No per-batch host round trips (SPEC section 3, "GPU speed")
# ---------------------------------------------------------------------------

# The ways an array's value reaches the host: Python scalars, truth values,
# indices, NumPy conversion and DLPack export.
_HOST_TRANSFERS = ("__float__", "__int__", "__bool__", "__index__", "__complex__",
                   "__array__", "__dlpack__", "item", "tolist", "numpy")


def _array_class(namespace):
    if namespace == "torch":
        torch = pytest.importorskip("torch")
        return torch.Tensor, torch.asarray
    return type(xp_strict.asarray([0.0])), xp_strict.asarray


def _count_host_transfers(monkeypatch, array_class):
    counter = {"n": 0}
    for name in _HOST_TRANSFERS:
        original = getattr(array_class, name, None)
        if original is None:
            continue

        def counted(self, *args, _original=original, **kwargs):
            counter["n"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(array_class, name, counted)
    return counter


SYNC_ESTIMATORS = [
    SGDRegressorPlus(batch_size=10, max_iter=3, tol=None, random_state=0),
    SGDRegressorPlus(batch_size=10, max_iter=3, tol=None, solver=Adam(clip_norm=1.0),
                     penalty="elasticnet", average=True, random_state=0),
    SGDRegressorPlus(batch_size=10, max_iter=3, tol=None, early_stopping=True,
                     dropout=0.1, loss="huber", learning_rate="adaptive", random_state=0),
    MLPClassifierPlus(hidden_layer_sizes=(8, 4), batch_size=10, max_iter=3, tol=0,
                      n_iter_no_change=100, solver="sgd", random_state=0),
    MLPClassifierPlus(hidden_layer_sizes=(8,), batch_size=10, max_iter=3,
                      early_stopping=True, n_iter_no_change=100, solver="adamw",
                      penalty="l1", dropout=0.2, class_weight="balanced", random_state=0),
    SGDClassifierPlus(batch_size=10, max_iter=3, tol=None, class_weight="balanced",
                      early_stopping=True, random_state=0),
    MLPRegressorPlus(hidden_layer_sizes=(8,), batch_size=10, max_iter=3, loss="huber",
                     early_stopping=True, n_iter_no_change=100, random_state=0),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("namespace", ["array_api_strict", "torch"])
@pytest.mark.parametrize("estimator", SYNC_ESTIMATORS, ids=repr)
def test_host_transfers_do_not_grow_with_the_number_of_batches(estimator, namespace,
                                                               monkeypatch):
    """Three epochs over 100 rows (10 batches each) and over 1,000 rows (100
    batches each) read the same number of values back to the host: the batch
    loop itself never synchronises (losses stay device arrays until the
    epoch ends)."""
    array_class, asarray = _array_class(namespace)
    rng = np.random.default_rng(0)
    counts = []
    for n in (100, 1000):
        X = rng.normal(size=(n, 4))
        y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0) if is_classifier(
            estimator) else X @ np.arange(1.0, 5.0)
        sw = rng.uniform(0.5, 2.0, size=n)
        Xa, ya, swa = asarray(X), asarray(y), asarray(sw)
        with sklearn.config_context(array_api_dispatch=True), monkeypatch.context() as m:
            counter = _count_host_transfers(m, array_class)
            clone(estimator).fit(Xa, ya, sample_weight=swa)
        counts.append(counter["n"])
    assert counts[0] == counts[1], counts
    # ... and the count is a few per epoch, not zero because nothing was counted.
    assert 3 <= counts[0] <= 40, counts


def test_device_parameter_moves_torch_input_between_torch_devices():
    """device='cuda' with PyTorch input trains on torch's GPU (not CuPy), and
    device='cpu' on torch's CPU; resolving needs no GPU."""
    torch = pytest.importorskip("torch")
    from skoptim._backend import resolve_backend

    X = torch.zeros((3, 2))
    with sklearn.config_context(array_api_dispatch=True):
        assert resolve_backend(X, device="cuda:1").device == torch.device("cuda:1")
        cpu = resolve_backend(X, device="cpu")
        assert cpu.device == torch.device("cpu") and "torch" in cpu.xp.__name__


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_torch_fit_with_device_cpu_matches_numpy_fit():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), rng.integers(0, 3, 60)
    kw = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    ref = MLPClassifierPlus(**kw).fit(X, y)
    with sklearn.config_context(array_api_dispatch=True):
        est = MLPClassifierPlus(device="cpu", **kw).fit(torch.asarray(X), torch.asarray(y))
    assert isinstance(est.coefs_[0], torch.Tensor) and est.coefs_[0].device.type == "cpu"
    np.testing.assert_allclose(est.coefs_[0].numpy(), ref.coefs_[0], rtol=1e-10)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator", [SGDRegressorPlus(max_iter=5, random_state=0),
                                       MLPClassifierPlus(hidden_layer_sizes=(6,),
                                                         max_iter=5, random_state=0)],
                         ids=lambda e: type(e).__name__)
def test_pipeline_with_scaler_stays_in_the_namespace(estimator):
    """SPEC section 3: Pipeline(StandardScaler(), estimator) keeps the data in
    its namespace end to end (array_api_strict here, CuPy in test_gpu.py)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4)) * 10 + 3
    y = X @ np.arange(1.0, 5.0) if isinstance(estimator, SGDRegressorPlus) else (
        X[:, 0] > 3).astype(np.int64)
    with sklearn.config_context(array_api_dispatch=True):
        pipe = make_pipeline(StandardScaler(), clone(estimator))
        pipe.fit(xp_strict.asarray(X), xp_strict.asarray(y))
        pred = pipe.predict(xp_strict.asarray(X))
        ref = make_pipeline(StandardScaler(), clone(estimator)).fit(X, y).predict(X)
    assert type(pred).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(np.asarray(to_numpy(pred), dtype=float), ref, rtol=1e-8)
